from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "organization" (
    "id" UUID NOT NULL PRIMARY KEY,
    "name" VARCHAR(200) NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL
);
COMMENT ON TABLE "organization" IS 'A tenant: every other row belongs to exactly one organization.';
CREATE TABLE IF NOT EXISTS "app_user" (
    "id" UUID NOT NULL PRIMARY KEY,
    "email" VARCHAR(254) NOT NULL,
    "name" VARCHAR(200),
    "role" VARCHAR(16) NOT NULL,
    "active" BOOL NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "organization_id" UUID NOT NULL REFERENCES "organization" ("id") ON DELETE RESTRICT
);
CREATE INDEX IF NOT EXISTS "idx_app_user_organiz_90f4ad" ON "app_user" ("organization_id", "role", "active");
COMMENT ON COLUMN "app_user"."role" IS 'ADMIN: ADMIN\nMEMBER: MEMBER';
COMMENT ON TABLE "app_user" IS 'A platform user; admins receive the DNC notifications of their organization.';
CREATE TABLE IF NOT EXISTS "batch" (
    "id" UUID NOT NULL PRIMARY KEY,
    "name" VARCHAR(200),
    "created_at" TIMESTAMPTZ NOT NULL,
    "organization_id" UUID NOT NULL REFERENCES "organization" ("id") ON DELETE RESTRICT,
    "owner_id" UUID REFERENCES "app_user" ("id") ON DELETE SET NULL
);
COMMENT ON TABLE "batch" IS 'An outbound calling batch (campaign); its owner may have been deleted.';
CREATE TABLE IF NOT EXISTS "call_record" (
    "id" UUID NOT NULL PRIMARY KEY,
    "request_uuid" UUID NOT NULL,
    "phone_number" VARCHAR(32) NOT NULL,
    "recording_url" TEXT,
    "transcription" TEXT,
    "called_at" TIMESTAMPTZ,
    "batch_id" UUID NOT NULL REFERENCES "batch" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_call_record_batch_i_5560a8" UNIQUE ("batch_id", "request_uuid")
);
COMMENT ON TABLE "call_record" IS 'One call of a batch (its phone log), identified within the batch by `request_uuid`.';
CREATE TABLE IF NOT EXISTS "dnc_entry" (
    "id" UUID NOT NULL PRIMARY KEY,
    "phone_number" VARCHAR(16) NOT NULL,
    "reason" VARCHAR(32),
    "note" TEXT,
    "request_uuid" UUID,
    "recording_url" TEXT,
    "transcription" TEXT,
    "created_at" TIMESTAMPTZ NOT NULL,
    "added_by_id" UUID REFERENCES "app_user" ("id") ON DELETE SET NULL,
    "batch_id" UUID REFERENCES "batch" ("id") ON DELETE SET NULL,
    "call_record_id" UUID REFERENCES "call_record" ("id") ON DELETE SET NULL,
    "organization_id" UUID NOT NULL REFERENCES "organization" ("id") ON DELETE RESTRICT,
    CONSTRAINT "uid_dnc_entry_organiz_42e7e5" UNIQUE ("organization_id", "phone_number")
);
CREATE INDEX IF NOT EXISTS "idx_dnc_entry_organiz_431a45" ON "dnc_entry" ("organization_id", "created_at", "id");
COMMENT ON COLUMN "dnc_entry"."phone_number" IS 'E.164';
COMMENT ON COLUMN "dnc_entry"."reason" IS 'CUSTOMER_REQUEST: CUSTOMER_REQUEST\nCOMPLAINT: COMPLAINT\nWRONG_NUMBER: WRONG_NUMBER\nLEGAL_REQUEST: LEGAL_REQUEST\nOTHER: OTHER';
COMMENT ON TABLE "dnc_entry" IS 'One number on one organization''s list, with a snapshot of the call that put it there.';
CREATE TABLE IF NOT EXISTS "email_outbox" (
    "id" UUID NOT NULL PRIMARY KEY,
    "recipient" VARCHAR(254) NOT NULL,
    "subject" VARCHAR(255) NOT NULL,
    "body_text" TEXT NOT NULL,
    "body_html" TEXT NOT NULL,
    "status" VARCHAR(16) NOT NULL,
    "attempts" INT NOT NULL,
    "last_error" TEXT,
    "next_attempt_at" TIMESTAMPTZ NOT NULL,
    "locked_until" TIMESTAMPTZ,
    "created_at" TIMESTAMPTZ NOT NULL,
    "sent_at" TIMESTAMPTZ,
    "dnc_entry_id" UUID REFERENCES "dnc_entry" ("id") ON DELETE RESTRICT,
    "organization_id" UUID NOT NULL REFERENCES "organization" ("id") ON DELETE RESTRICT
);
CREATE INDEX IF NOT EXISTS "idx_email_outbo_status_dd88ee" ON "email_outbox" ("status", "next_attempt_at");
COMMENT ON COLUMN "email_outbox"."status" IS 'PENDING: PENDING\nSENDING: SENDING\nSENT: SENT\nFAILED: FAILED';
COMMENT ON TABLE "email_outbox" IS 'One notification to one recipient, written in the transaction that caused it.';
CREATE TABLE IF NOT EXISTS "aerich" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "version" VARCHAR(255) NOT NULL,
    "app" VARCHAR(100) NOT NULL,
    "content" JSONB NOT NULL
);"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        """


MODELS_STATE = (
    "eJztXW1v2zYQ/iuEviwFsqBxk3TwhgGOo7ZeHbtznG1oXWi0xNhaJdKVqCRe1/8+ktYrJb"
    "mSX2LZ1ZfaJnkk8xxf7rk7qV8UmxjIck8uIdWnShN8UTC0EfuSrDgGCpzNomJeQOHYEi3H"
    "YZOxSx2oU1Z4By0XsSIDubpjzqhJMG/awoB4dEw8bAAdWpaJJ0CIgyMd2jNoTvCzn4FJXU"
    "AeMHKADedgCu8RGCOEARsZUWSc8LEMorPBmPxmu/Ww+dlDGiUTRKfIYZ1/+MiKTWygR+QG"
    "P2eftDsTWUYCMNPgHYhyjc5nouz2tnP1SrTkUx5rOrE8G0etZ3M6JThs7nmmccJleN0Esa"
    "lCNrEYnNizLB/2oGgxY1ZAHQ+FUzWiAgPdQc/iSlF+ufOwznUBxEj8n7Nf/anFmmlarz/U"
    "btShpikpHfIpSPj7RTrBXP8mphyoL18X/UaAiFKFD9B+0xocvbh4JiAgLp04olLApXwVgp"
    "DChagAPUJZfKZwbk+hk41z0F5Cmk20AMY+giHEQZMI42idB+gF+GwBUcWGj5qF8ITyrdp4"
    "/nwJxH+0BgJl1krATNjGXGzXnl/VWNRxuCN4dQdxODRI0yBfsRpq2igb6KSkBLfhi54EX1"
    "ZZ4LtGn/2BRh9bc39hLAF/2LlWb4at63d8ONt1P1sCv9ZQ5TUNUTqXSo8uJD2FnYA/O8M3"
    "gP8E7/s9Vd40Ybvhe4XPCXqUaJg8aNCInQJBaYBaQuvEmUBs/gs5JFq5cyxDdJOH2o51vs"
    "4ZFoOXXzplcY3JrAFoxU6w1fHk1+7dp8wrIb4E0xC/Ig5i9/9bNBdAd9h8INaz7gTf4ulL"
    "3e3nko1Ko1XgwIfQbsnauOzLwhbi9QN2qAw67aGSXsobAPnWRXt4ARfGNrZ5E6CyCYDebb"
    "eriPU8hvqnB+gYWs7C5qas5iCdOIabxvzSl371doCscLVmw91mPQ1ERwe0ohML08C6hjDr"
    "CK0J1RXWVdbP/HBWp1hrpEFiayyx+tJVdsOWSyCGE/En8bH5SOmVlcEek+sun0LGVnoxIt"
    "nHSDA9QO4ADLgeJ3gzplIELDJ5dgxMg60Ik/0hBngw6dTEgHE6v/F4Dv52ENObSzV+of6d"
    "ZpVbGiODYn5YcGj/xIiLKB9r+lkl+pnQTQm8ZbnaRpZsZLGnNOzZ4yz7Ip/fy3Ir8fyqQZ"
    "ok+i8aBXj+i0YuzedVSbAXJy2bgeY5VhrtIXqkectYEjwEt8oyIq/+NUxw+ADVo+vWX88S"
    "PL7b770Omse00O72LyX02dA4mmgJ9FOCNfrl0ec3+moOrrjgBvxbe6SHCrmzAkyW+rPi1l"
    "TRGzouU9/Oyz0uYcRnTS9AGFzaT1C/6QeIr6mEH6Ddumm3rtRiboCa2u6G2oZwZRDbOJT5"
    "tDbQ3Lw4qV1YsoBxJM4x4066H1xgmS49FjyTEVIXw5k7JZTTU845BVWlU0jBzKPApLzQQd"
    "m0duOjjPAID/1q1kVoJ4LbQfcYJAwXALEBfD4E+FkDoMMEyYxx6GOA2VAOumN9spPDaI6w"
    "GJBxbVdEbceIjetMeEs+m6teG6B7zsF1BGyPdcjlxyifaGfFK+IUQubbmRLJWFfA0mtavj"
    "Na/j2wR0U9Ob04k7dzEQJ5elGAQJ7KBltEIHmVTCChm8VdONIqgzN1/0ssMpCuMIFR2rc3"
    "w/61OtAG6u+3zCRtArlkhNv963fdVqfHK4OvI/zngLERrXd7fakOmiD+a4S76utWN+oy8X"
    "OE+8M3XER8rKLpzbsK2HmakW+Rz1GD9hXWbGWpaQWci/ujgRK+xdrdVbu7vlf064SulVSx"
    "bx4v1pSpajwv6fSSxOqL42tV/IgHiWcszF8S1bRkja2UZFjncNY5hxVzzx5vJOfwqaMN1T"
    "weVg82REmHOWfxBrAtlWC4pwCn76ACMAcW1gYwPuycWckUXSNtFtnQtNYMlam8jz5/puzx"
    "cCDfarQsjlhGwEwCND9mJrSnkahlsbAZ4UmYutAqoESEtdhWNWcmwjyY5ZiUIgz89EzhWY"
    "CLmIeIZenQc5EBTJoTLttk799+xPCDwo4C6glcMHqkjIJTZM/4Zx1p2nkCqK/2MmGmhFCV"
    "Y0wrZig2zs+KPIp4fpb/KCKvSxIa1xv/g/RSOMdEDhLl80Iony9B+VxGeUyMuUbZIVPGM5"
    "sQOgikn9otKxCcUrtUOCIhVMO+AuzRvbpK3DqSfjrwlXdq76rTe13ylgzEmsD/MsI3QclN"
    "rGQofg5H+FWr01WvmmDxKVtBu8ky8M2eDH11cM4WiYtISjIX1+82lPR8W+f/hM/gx8bp2c"
    "uzn15cnP3EmohZhiUvl2De6Q0lQC3oUg05DslIksk/dpJSdRCu/LEjG/Ep8JdH4jLE63Bc"
    "pcNxFtE/IUPzMDUzbvjl2pZl60cNqqzpOr7+XajZZeR9BR3HxOptXGX9hpn6JUOnslwdla"
    "6j0luGt45KVyIqnXi2Z02gD+/BLBlj+ZzMATg/vLfN0FVinWfEruR9kB+8kjdggTdiAoow"
    "xLQJ0D1y5oDwmBBwyAMYI4vgicvjTeiR9WHNUw9rZbwJc+3u6jdgVuCMP14SgXrSN2BW7U"
    "yvX4G5U/QP6xWYKUuqSHaJSLNa90nsQ3vwfeevYttLoJ4+UWkvYfJc5KyJUsHUub2BZ5vW"
    "sMAqwwoOMMy3flmN5gWtCli+M6a2O+LYgAv9DKBhm1i8OwCZ9yh8vj+efOX6ryEwnW/awZ"
    "vtvEjSVgaPdIgl7nmeDXaP6uStHZvO4sAtYzuHAodoPG8jaat+Pf9WuUlwnqySvRLIPmHu"
    "yrXKX3pQ8oxQWlfXnV4TiI8RXvTRBLG+dp+YsjjO0yYJYRhDnJOaEgpJGhgzqW2pIDjGn/"
    "aIvuz3uwned9mRsyTE6zCOTgXorJG58ASmU1ZqNp6/yg+LjddhozpsVCGINxg2qpxbqWKG"
    "U2W9SvuC0zbdAS3kmNn/NZxfc7zUJRC1+ZZDIB+GDYekcpOHM2+LjLRhf1msx6e3aRhsJG"
    "04n0bfI8fNvCryeV5M5CCp9BaezOGbqgTCfvMDRPe0EJM+XcKkTzOifATTzKf4frvp93II"
    "RSQiswlTp+A/8eLUPUR7CbgcjARlSGXDy4nvkvHJO7jMsj6fMtPj6/9W7eL6"
)
