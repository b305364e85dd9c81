from api.settings import Settings
from tests.support.client import GraphQLClient, assert_union
from tests.support.factories import make_tenant
from tests.support.smtp import SmtpSink

ADD = """
mutation Add($input: AddToDncInput!) {
  addToDnc(input: $input) {
    __typename
    ... on MutationResult { success statusCode message }
    ... on AddToDncSuccess { entry { id phoneNumber } }
  }
}
"""


async def test_add_sends_email(gql: GraphQLClient, settings: Settings, smtp: SmtpSink) -> None:
    tenant = await make_tenant(settings)
    call = tenant.calls[0]
    response = await gql(
        ADD,
        {
            "input": {
                "phoneNumber": call.phone_number,
                "batchId": str(tenant.batch.id),
                "requestUUID": str(call.request_uuid),
            }
        },
        token=tenant.member_token,
    )
    assert_union(response.data["addToDnc"], "AddToDncSuccess")
    messages = await smtp.wait_for(1)
    assert messages[0].recipients == [tenant.admin.email]
