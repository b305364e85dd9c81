from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "organization" (
    "id" CHAR(36) NOT NULL PRIMARY KEY,
    "name" VARCHAR(200) NOT NULL,
    "created_at" TIMESTAMP NOT NULL
) /* A tenant: every other row belongs to exactly one organization. */;
CREATE TABLE IF NOT EXISTS "app_user" (
    "id" CHAR(36) NOT NULL PRIMARY KEY,
    "email" VARCHAR(254) NOT NULL,
    "name" VARCHAR(200),
    "role" VARCHAR(16) NOT NULL /* ADMIN: ADMIN\nMEMBER: MEMBER */,
    "active" INT NOT NULL,
    "created_at" TIMESTAMP NOT NULL,
    "organization_id" CHAR(36) NOT NULL REFERENCES "organization" ("id") ON DELETE RESTRICT
) /* A platform user; admins receive the DNC notifications of their organization. */;
CREATE INDEX IF NOT EXISTS "idx_app_user_organiz_90f4ad" ON "app_user" ("organization_id", "role", "active");
CREATE TABLE IF NOT EXISTS "batch" (
    "id" CHAR(36) NOT NULL PRIMARY KEY,
    "name" VARCHAR(200),
    "created_at" TIMESTAMP NOT NULL,
    "organization_id" CHAR(36) NOT NULL REFERENCES "organization" ("id") ON DELETE RESTRICT,
    "owner_id" CHAR(36) REFERENCES "app_user" ("id") ON DELETE SET NULL
) /* An outbound calling batch (campaign); its owner may have been deleted. */;
CREATE TABLE IF NOT EXISTS "call_record" (
    "id" CHAR(36) NOT NULL PRIMARY KEY,
    "request_uuid" CHAR(36) NOT NULL,
    "phone_number" VARCHAR(32) NOT NULL,
    "recording_url" TEXT,
    "transcription" TEXT,
    "called_at" TIMESTAMP,
    "batch_id" CHAR(36) NOT NULL REFERENCES "batch" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_call_record_batch_i_5560a8" UNIQUE ("batch_id", "request_uuid")
) /* One call of a batch (its phone log), identified within the batch by `request_uuid`. */;
CREATE TABLE IF NOT EXISTS "dnc_entry" (
    "id" CHAR(36) NOT NULL PRIMARY KEY,
    "phone_number" VARCHAR(16) NOT NULL /* E.164 */,
    "reason" VARCHAR(32) /* CUSTOMER_REQUEST: CUSTOMER_REQUEST\nCOMPLAINT: COMPLAINT\nWRONG_NUMBER: WRONG_NUMBER\nLEGAL_REQUEST: LEGAL_REQUEST\nOTHER: OTHER */,
    "note" TEXT,
    "request_uuid" CHAR(36),
    "recording_url" TEXT,
    "transcription" TEXT,
    "created_at" TIMESTAMP NOT NULL,
    "added_by_id" CHAR(36) REFERENCES "app_user" ("id") ON DELETE SET NULL,
    "batch_id" CHAR(36) REFERENCES "batch" ("id") ON DELETE SET NULL,
    "call_record_id" CHAR(36) REFERENCES "call_record" ("id") ON DELETE SET NULL,
    "organization_id" CHAR(36) NOT NULL REFERENCES "organization" ("id") ON DELETE RESTRICT
) /* One number on one organization's list, with a snapshot of the call that put it there. */;
CREATE INDEX IF NOT EXISTS "idx_dnc_entry_organiz_431a45" ON "dnc_entry" ("organization_id", "created_at", "id");
CREATE UNIQUE INDEX IF NOT EXISTS "uq_dnc_entry_organization_phone" ON "dnc_entry" ("organization_id", "phone_number");
CREATE TABLE IF NOT EXISTS "email_outbox" (
    "id" CHAR(36) NOT NULL PRIMARY KEY,
    "recipient" VARCHAR(254) NOT NULL,
    "subject" VARCHAR(255) NOT NULL,
    "body_text" TEXT NOT NULL,
    "body_html" TEXT NOT NULL,
    "status" VARCHAR(16) NOT NULL /* PENDING: PENDING\nSENDING: SENDING\nSENT: SENT\nFAILED: FAILED */,
    "attempts" INT NOT NULL,
    "last_error" TEXT,
    "next_attempt_at" TIMESTAMP NOT NULL,
    "locked_until" TIMESTAMP,
    "created_at" TIMESTAMP NOT NULL,
    "sent_at" TIMESTAMP,
    "dnc_entry_id" CHAR(36) REFERENCES "dnc_entry" ("id") ON DELETE RESTRICT,
    "organization_id" CHAR(36) NOT NULL REFERENCES "organization" ("id") ON DELETE RESTRICT
) /* One notification to one recipient, written in the transaction that caused it. */;
CREATE INDEX IF NOT EXISTS "idx_email_outbo_status_dd88ee" ON "email_outbox" ("status", "next_attempt_at");
CREATE TABLE IF NOT EXISTS "aerich" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "version" VARCHAR(255) NOT NULL,
    "app" VARCHAR(100) NOT NULL,
    "content" JSON NOT NULL
);"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        """


MODELS_STATE = (
    "eJztXf9z2jgW/1c0/HLJTi7T0CS7w+7cDCG05ZZAl5DbnS07rrAF6GpL1JaTcL3+7yvJNr"
    "Zlm9p8CYb6lwCSniR/niy9z3vPzpeaRQ1kOuc3kOmzWgN8qRFoIf4lXnEGanA+D4tFAYNj"
    "U7YcL5uMHWZDnfHCCTQdxIsM5Og2njNMiWjaJIC6bExdYgAdmiYmUyDFwYkOrTnEU3L6M8"
    "DMAfSJIBtYcAFm8BGBMUIE8JERQ8a5GMugOh+My2+3W5fgzy7SGJ0iNkM27/zDX7wYEwM9"
    "Iyf4Of+kTTAyjRhg2BAdyHKNLeay7OGhc/tGthRTHms6NV2LhK3nCzajZNncdbFxLmRE3R"
    "TxqUI+sQicxDVNH/agyJsxL2C2i5ZTNcICA02gawql1H6ZuEQXugByJPHn8l/+1CLNNK3X"
    "H2r37aGm1RI6FFNQ8PeLdEqE/jFhAqgvX71+Q0BkaU0M0HrXHJy8vj6VEFCHTW1ZKeGqfZ"
    "WCkEFPVIIeoiw/Ezi3ZtBOxzloryDNJ5oDYx/BJcRBkxDjcJ0H6AX47ADRmgWfNRORKRO3"
    "av3VqxUQ/6c5kCjzVhJmym9M73bt+VV1r07AHcKr20jAoUGWBPmW1zBsoXSg45IK3IYveh"
    "58WWeB7xt9foFGn5gLf2GsAH/YuWvfD5t378VwluN8NiV+zWFb1NRl6UIpPblW9LTsBPze"
    "Gb4D4if4s99rqzfNst3wz5qYE3QZ1Qh90qAR2QWC0gC1mNapPYUE/w8KSLRi+1iK6DY3tT"
    "3rfJM9LAKvOHSK4hqR2QDQku1g6+Mpjt3Jp9QjIboEkxC/oTbi5/+vaCGB7vD5QKKnnQm+"
    "xdNXujvMJRuWhqvAhk9LuyXtxuVfPFtI1A/4pjLotIa15FLeAsgPDjrAAzg3tpGbNwYqnw"
    "DoPXS7Nbmex1D/9ARtQ8tY2MKU1WykU9twkpjf+NJvfh0gc7la0+Fu8Z4GsqMjWtGxhWkQ"
    "XUOEd4Q2hOqW6G3ez+J4Vqdca7ROI2sstvqSVVbdUksggVN5SWJsMVJyZaWwx/i6y6aQkZ"
    "Wej0j2CZJMD9AJgAHXEwRvzlWKgEmnp2cAG3xFYH4hBnjCbIYJ4JzObzxegI824npzmCYO"
    "1I9JVrmjMVIo5gePQ/s7RlSk9ldFP8tEP2O6KYC3KlfZyIqNLO8pjbjWOM2+yOb3qtxaPL"
    "9skMaJ/ut6Dp7/up5J80VVHGxvp+Uz0FzbTKI9RM8saxkrgsfgVllF5Nt/DGMcPkD15K75"
    "x2mMx3f7vbdB84gWWt3+jYI+H5qEEy2AfkKwQr84+uJEX8/BFRXcgn/rgPRQIndWgMlKf1"
    "bUmsp7QkdlqtN5tcdlGfHZ0AuwDC4dJqjf9ANE11TMD9Bq3reat+18boCK2u6H2i7hSiG2"
    "USizaW2guUV+UutZsoBzJMExo066fzjAxA47kzyTE1KHwLkzo0zQU8E5JVVlM8jA3GUAM1"
    "Foo3Rau/VRRmREhn4172JpJ4KHQfcMxAwXAIkBfD4ExF4DoM0F6Zxz6DNA+FA2mvA++c5h"
    "NEZEDsi5tiOjtmPEx7WnoqWYzW2vBdCj4OA6ApbLOxTyY28+zeAysQP4fC2+xfHL5Q3lHN"
    "KuuiE79RY9kEt9RD66n7WlHrWY11Ryj48AkQm1deRwNM7BkNqMYkcgQcRcDKSb4vpg0O0P"
    "st8fRuSEEnMhJoKJiYWrYbm4OfgzrM/A/W9dzGRPgKBHfiGGTeenZ8Chcp4WntpyIg7wgm"
    "9iAvmC2B/S3L/xCF7ge6icDXtzNnwPnLjWPr+4vlQ3qTy0+OI6By2+UM3QkBaLKpUWQyeN"
    "kQmk2xzOhFWjcONAusS0rNZ6uB/279oDbdD+7YEb2g2gloxIq3/3vtvs9ERl8HVEfh9wjq"
    "X1Hu5u2oMGiP4akW77bbMbdhn7OSL94TshIj/W0fT2HSB8Z07JIslm3kH7Emu2tIS7BC7T"
    "w9FAAY9p5cSrnHjfK/pVmtpaqjg0Px5vylU1XhR05Sli1cHxtSze0aPEM5K8UBDVpGSFrZ"
    "I6WWWmVpmUJXM6n20lk/KlYyjl3B7WD6GEqZQZe/EWsC2UNnmgACfPoBwwBxbWFjA+7kxg"
    "xRTdIBkYWRCbGwYA26KPvnhS7vl4IN9pDDCKWEoYUAE0OxIotafRsGW+YCAVqaW61CpgVA"
    "br+K2K5xjJKJGNGUMigCTjQdKzAL2Yh4zQ6dB1kBFEhZJBwG32nifmxLcC5kpcCHpmnIIz"
    "ZM3FZxVp2ntaq6/2ImGmmFCZY0xr5l3Wry7zPGB5dZn9gKWoixMaxx3/F+mFcI6IHCXKV7"
    "lQvlqB8pWK8pgaC43xTaaIZzYmdBRIv7RbViI4Y1ahcERMqIJ9DdjDc3WduHUo/XLg1963"
    "e7ed3tuCp2Qg1gD+lxG5D0ruIyVD+XM4Im+anW77tgG8T9UK2k+WgW/2pOirQzJukaiIoi"
    "TsHb+7UNKrXe3/UzGDf9YvLn+8/On19eVPvImc5bLkxxWYd3pDBVATOkxDtk1TkmSyt524"
    "VBWEK77tqEZ8AvzVkbgU8SocV+pwnEn1T8jQXMJwygm/WtuqbPUARZk1XcXXvws1O5y8r6"
    "HjiFh1G5dZv2HeejE3mipXRaWrqPSO4a2i0qWISseeWNoQ6ON73EzFWN0nMwDODu/tMnQV"
    "W+cpsSv1PsgOXqk3YI73fAKGCCSsAcRzSwtARUwI2PQJjJFJydQR8Sb0zPswF4lH0FLe77"
    "lxd9V7PUuwx5+tiEC96Hs9y7anVy/23Cv6x/Viz4QllSe7RKZZbfp8+bE9zr/3F8wdJFAv"
    "n6h0kDC5DrI3RCln6tzBwLNLa1hilWIFBxhmW7+8RnODVjks3zlX24TaFhBCPwNoWJjINy"
    "Ig/IiWby2IJl85/ssVsP1NO3i7na/5ogCbmvKcF9lgj6hK3tqz6Sw33CK281LgGI3nXSRt"
    "Vf90YKfcJNhP1sleCWRfMHflri1eelBwj6g1b+86vQaQHyPi9dEAkb72n5jibedJk4RyjC"
    "HJSE1ZCikaGHOpXakg2MZfdou+6fe7Md5301GzJOTrME4uJOi8EfY8gcmUlYqNZ6/y42Lj"
    "VdioChuVCOItho1K51YqmeFUWq/SoeC0S3dAE9k4/R/e+TVnK10CYZtvOQSyYdhySCozeT"
    "j1tEhJG/aXxWZ8epeGwVbShrNp9COyndSjIpvnRUSOkkrv4MkccVMVQNhvfoToXuRi0hcr"
    "mPRFSpSPEpb6FN+/7/u9DEIRiqhsAusM/F++GPUA0V4BrgAjRhkS2fBq4rtifIoObtKsz5"
    "fM9Pj6NxOfMfc="
)
