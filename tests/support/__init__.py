"""What tests share: the GraphQL client, the operations, factories, SMTP, a TCP proxy."""
