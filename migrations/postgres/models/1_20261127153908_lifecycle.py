# Hand-edited after generation (aerich cannot express these): entries already on the list
# become ACTIVE VOICE_CALL entries requested when they were created, each with its ADDED event
# (the entry's id doubles as the event's id), and the one-entry-per-number unique index
# becomes a partial one: at most one ACTIVE entry per organization and number.
from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "dnc_event" (
    "id" UUID NOT NULL PRIMARY KEY,
    "phone_number" VARCHAR(16) NOT NULL,
    "action" VARCHAR(16) NOT NULL,
    "at" TIMESTAMPTZ NOT NULL,
    "channel" VARCHAR(16),
    "reason" TEXT,
    "actor_id" UUID REFERENCES "app_user" ("id") ON DELETE SET NULL,
    "entry_id" UUID NOT NULL REFERENCES "dnc_entry" ("id") ON DELETE RESTRICT,
    "organization_id" UUID NOT NULL REFERENCES "organization" ("id") ON DELETE RESTRICT
);
CREATE INDEX IF NOT EXISTS "idx_dnc_event_organiz_090e98" ON "dnc_event" ("organization_id", "at", "id");
CREATE INDEX IF NOT EXISTS "idx_dnc_event_organiz_68064e" ON "dnc_event" ("organization_id", "phone_number", "at");
CREATE INDEX IF NOT EXISTS "idx_dnc_event_organiz_add5b9" ON "dnc_event" ("organization_id", "actor_id", "at");
COMMENT ON COLUMN "dnc_event"."action" IS 'ADDED: ADDED\nREMOVED: REMOVED\nEXPIRED: EXPIRED';
COMMENT ON COLUMN "dnc_event"."channel" IS 'VOICE_CALL: VOICE_CALL\nSMS: SMS\nEMAIL: EMAIL\nWEB: WEB\nMANUAL: MANUAL\nIMPORT: IMPORT';
COMMENT ON TABLE "dnc_event" IS 'One change of one organization''s list: the append-only audit trail.';
        ALTER TABLE "dnc_entry" ADD "removed_by_id" UUID;
        ALTER TABLE "dnc_entry" ADD "channel" VARCHAR(16) NOT NULL DEFAULT 'VOICE_CALL';
        ALTER TABLE "dnc_entry" ADD "removed_at" TIMESTAMPTZ;
        ALTER TABLE "dnc_entry" ADD "expires_at" TIMESTAMPTZ;
        ALTER TABLE "dnc_entry" ADD "requested_at" TIMESTAMPTZ;
        UPDATE "dnc_entry" SET "requested_at" = "created_at";
        ALTER TABLE "dnc_entry" ALTER COLUMN "requested_at" SET NOT NULL;
        ALTER TABLE "dnc_entry" ADD "status" VARCHAR(16) NOT NULL DEFAULT 'ACTIVE';
        ALTER TABLE "dnc_entry" ADD "removal_reason" TEXT;
        COMMENT ON COLUMN dnc_entry."channel" IS 'VOICE_CALL: VOICE_CALL\nSMS: SMS\nEMAIL: EMAIL\nWEB: WEB\nMANUAL: MANUAL\nIMPORT: IMPORT';
COMMENT ON COLUMN dnc_entry."requested_at" IS 'When the person asked not to be called';
COMMENT ON COLUMN dnc_entry."status" IS 'ACTIVE: ACTIVE\nEXPIRED: EXPIRED\nREMOVED: REMOVED';
        ALTER TABLE "dnc_entry" ADD CONSTRAINT "fk_dnc_entr_app_user_c7c82c8c" FOREIGN KEY ("removed_by_id") REFERENCES "app_user" ("id") ON DELETE SET NULL;
        CREATE INDEX IF NOT EXISTS "idx_dnc_entry_organiz_42e7e5" ON "dnc_entry" ("organization_id", "phone_number");
        CREATE INDEX IF NOT EXISTS "idx_dnc_entry_status_3b192e" ON "dnc_entry" ("status", "expires_at");
        INSERT INTO "dnc_event" ("id", "organization_id", "entry_id", "phone_number", "action", "at", "actor_id", "channel", "reason")
            SELECT "id", "organization_id", "id", "phone_number", 'ADDED', "created_at", "added_by_id", 'VOICE_CALL', "reason" FROM "dnc_entry";
        DROP INDEX IF EXISTS "uq_dnc_entry_organization_phone";
        CREATE UNIQUE INDEX IF NOT EXISTS "uq_dnc_entry_active_number" ON "dnc_entry" ("organization_id", "phone_number") WHERE "status" = 'ACTIVE';"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    # Forward only: going back would drop the removal and expiry history, and nothing on a
    # DNC list is ever deleted. aerich refuses a downgrade whose SQL is empty.
    return ""


MODELS_STATE = (
    "eJztXW1z2joW/isavmw7w800adp7h+7sDCFuy15euoS0nVs6jrAV8NbI1JaTcLv973sk2/"
    "id2LzFUH0JRNKRxCPpSM85R/aP2szSiemcXGCmTWsN9KNG8YzAl3hGHdXwfB4m8wSGx6Yo"
    "OV4WGTvMxhqDxFtsOgSSdOJotjFnhkV50SZFlsvGlkt1pGHTNOgECXH0TMOzOTYm9PkbZD"
    "AHWfeU2GiGF2iK7wgaE0IRtEwY0U94W7qlQWMgv91qXWp8d4nKrAlhU2JD5V++QrJBdfJA"
    "nODf+Tf11iCmHgPM0HkFIl1li7lIu75uX74VJXmXx6pmme6MhqXnCza16LK46xr6CZfheR"
    "MCXcXQsQic1DVNH/YgyesxJDDbJcuu6mGCTm6xa/JBqf3z1qUaHwskWuJ/zv/ldy1STFV7"
    "/aF6pQxVtZYaQ96FBP5+kmZRPv4GZRyoHz+9ekNARGqNN9B63xw8e/n6uYDActjEFpkCrt"
    "pPIYgZ9kQF6CHK4jOFc2uK7Wycg/IJpKGjBTD2EVxCHBQJMQ7neYBegM8OEK3N8INqEjph"
    "fKmevXixAuKPzYFAGUoJmC1YmN5y7flZZ14ehzuEV7MJh0PFLA3yJeQwY0aygY5LJuDWfd"
    "GT4Ms6E/yp0YcfqPepufAnxgrwh+2ucjVsdj/w5maO890U+DWHCs85E6mLROqz14lxWlaC"
    "PrWH7xH/F/3V7ynJRbMsN/yrxvuEXWap1LpXsR7RAkFqgFps1C17gqnxN+aQqOX0WIboNp"
    "XaE4/5JjosAi/fdMriGpHZANCKabD18eTb7u23zC0hOgXTEL+1bAL7/59kIYBuQ38w1bL2"
    "BP/E009Ud5hTNkwNZ4GN75fnlqyFC1+8sxDPH4BSGbRbw1p6Km8B5GuHHOAGXBjbyOKNgQ"
    "odQL3rTqcm5vMYa9/usa2rORObH2VVm2iWrTtpzC986bd/Doi5nK3ZcLegpoGo6IhmdGxi"
    "6lRTCYWKyIZQXVJNgXoWxzM7xVyzzqzIHIvNvnTW7GyWTMEUT8RP4m3zltIzK4M9xuddPo"
    "WMzPRiRLJPiWB6yLpFOOB6nODNYUgJMq3J8zoydJgRBvwQHd0bbGpQBJzOLzxeoBubwLg5"
    "TOUb6k2aVe6ojQyK+cXj0L7GiIrUvkr6WSX6GRubEngn5eQZOXFGFmtKpe5snHW+yOf3Sb"
    "m1eH7VII0T/ZdnBXj+y7Ncms+z4mB7mhZ6oLq2mUZ7SB5Y3jROCB6DWWUVkVc+D2McPkD1"
    "Wbf5+XmMx3f6vXdB8cgotDr9iwT60DQNO1oC/ZSgRL88+nxHX8/AFRXcgn3rgMahQuasAJ"
    "OV9qzoaaroDh2VkbvzaovL0uOzoRVg6Vw6TFAftQNE51TMDtBqXrWal0oxM4Cktk9DbZdw"
    "ZRDbKJT5tDYYuUVxUuudZBFwJM4xo0a6fzjINBxWFzwTCKlD8dyZWozTU845BVVlU8zQ3G"
    "XIYDzRJtm0duutjOiIDv1sqGJ5TkTXg04dxQ4uCFMd+XwIcV2DsA2C1hw4dB1RaMomt1An"
    "aA69MaKiQeDajvDajgm0a094Sd6by14LkTvOwTWCZi5UyOXHXn8Ub82I6im5g9/re3ob8L"
    "tsMrPuMHB7G/qDyMPcsBdIm2I6AYkbUFzMdW7qfl9/g72H/xhockR97Dx/F9QOdd8jMcon"
    "qMnQDDSpQLXZGrY/Kl4OmnO0IzCLir2aGl61c2wzAzrkLTkkFhq6cb+ry0mkwuQx7gKycw"
    "M131q2Bl0w2AkaWjazDIePAOUY6EQz+Q/HI+rXCL80aENUXkeOJUCcGRNbdMrxfxSvsJgz"
    "/EuWGTnuCeQ2jDrKLBjjbqKQhzvPEyNCHF7JV2nzeFKbx69AzWvKyenr86SuLMLOT18XYO"
    "enydNwyM55VpKdYyeLGHKkFYAzdbhKUPRAusLssNa6vhr2u8pAHSj/uYbzfgMlU0a01e9+"
    "6DTbPZ4ZfB3RTwOgemrvunuhDBoo+t+IdpR3zU5YZezfEe0P33MR8bHOSG/fDgOKOiOYJd"
    "8AEJSv8MhWlvdXwHJ7OCNQwnArbYnSlviroi+j5dYaikMzJ3JaSEmGcit2IouI7+8IXPvY"
    "b7cUtdXsdEqyjYhkA4XfR/Sqe9VA8AeYdbfZhkzxAScy5QIOYsrFiHabvesmZHifI9rufu"
    "gP4CDmfVbldC3287VWbVL2cNZt7dOUeKEJc2I73P7gfCO6sJYwi1tVPO9GsSE6prUdsTOU"
    "nAxxSekQqvIoh3aldRR4KL1H/e2ZD8vqbk+q4RsfQVN//tAeKJegq70vIzpQuv2PPMX/Uh"
    "WtPLPu1tTJUUm5DKu8DH2ju5pn4VpFFpOSkq+U5yswVLBSxouSrvGEmLSAxFF9wmiDo8Qz"
    "EgxcEtW0pMQ2cRVJ3vTarTHUO4yUVrEpQTlx5Z2vitz52ne0VzXn7/rBXuGlr5xdbgvYlr"
    "rgdaAAp3f3AjAHZ9ctYHzcdxYTh/wC0IZ7lgT3EXBT2/sGt0LJHeGtpyAvGwnKqzmivS5u"
    "1Z1hw9wQI4XX0eePlXk4nom584BZMatyAmaDGfdIwOyyWLFboCJmk4en5oSyivhKBG0Sqv"
    "9mUXOBsKvzwFXAxcy59blZnTz49JNtMEYo8i+ECnc79gIBg0harxGD+dGyzhs/StWdc2ul"
    "zgM2yz2aKDPIslwUpieQVxR+gGWH9crATBmYWRmNt2sPhbd413UhhdJVBrvWvLzkriHxkX"
    "YVpd1J1XAelXcaHZr7/pf0Fj1x2M2eIqGPPdqmvKdPevg28PBFTmiF3XsRGWl2juPpXbwq"
    "h2dURnpIpANKukmqBfGO3CTLi74bglzilvahAhzVkAWQFRuUtDE/ZsCPbOOlzcu7NAtGDa"
    "kZlsGEnTXfOCiMuqoVlix2od7ij2fTvFvXzBIWPZtoxtyAWVhH9/l2OnHLXcOuQ/TgRnT6"
    "Iv02ay9i4QtjUSkcoVUM1c/mTF6T3tdJZtWj4fxhL2OKiwlV2TS0ph3u7NV5AUoJpfIfUs"
    "7z4mdIxx3/l2ilcI6IHCXKrwqh/GoFyq+SKI8tfaEyUDJl2HtM6CiQ3jeDFwhO2azUXdqY"
    "kIR9DdgP8IbIB6V32e69K7lLBmIN5H8Z0asg5SqSMhT/Dkf0bbPd4SZ/77MaZkX/2JMxXm"
    "2as0SiIolBMnYXCPFiV/p/wnvw29np+e/nf7x8ff4HFBG9XKb8vgLzdm+YANTEDlOJbWfx"
    "rHy1E5eS9tryaid5iE+Bv9qPlSEunVqVdmqZlvaN6KpLmZGxw68e7aSsvOxW5ZGWD4f4JY"
    "bZAfK+xhhHxOQyrvL4ho9fLGdGS8pJz6p0BO4YXukIrIQjMPbU3/05A6upJR7FOKkncwB+"
    "GtdVbJ5n+K6S6yDfeZVcgAXelYsYoZiyBuJR4QtkcZ8Qsq17NCamRScO9zeRB6jDXKTi1D"
    "PekbtxdfLduBXQ8fUVHqi9vhu3ajpdvhz3SdE/rpfjpk5SRS7miQvAm76j4dheiZF5Mtrn"
    "mywOFyh5z7OC9zwPEibXIfaGKBWMnTsYeHbJGgRWGWwhwDCfJUCO6galCjCEOQzbrWXPEB"
    "d6g7A+M6h4+wox7sjyDSnRIDXHv35q2I/yhe1Wvub1VdsyxXnIe/eJDHJ7YoohFG4ZjrEU"
    "OEaSsYvgtr2SuIrZjPbA4QJ9sk6UTyC7xxifrsLfbFJSR9Sal912j1/jhY8R9epooEhdTx"
    "/A46nz9JHEAowxzb2o5gslRmAMUrsagkCN71dFX/T7nRg/vmgno0nEO2+enQrQoZDhWUzT"
    "oT3SapE/y4/LaiHda9K9ViGIt+heq5z5rWIHp8pa3w4Rp+BhbRKvyhorDwWmXVqZmsQ2tG"
    "ktw87k59RXWprCMo/ZmfJh2LJHODd2P/MQkhG170+Lzcw0uzxvbiVqP986c0dsJ/chVdnQ"
    "RkSO0kKzg4txfFGVQNgvfoTonhYy0JyuMNCcZjjZLcoyL9H++6rfy+GpoUiSpBoaQ/8Tj2"
    "w8QLRXgMvBiDHR1GWU5L2TepzT8AouskjNPgOtfv4fQG7Atw=="
)
