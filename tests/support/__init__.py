"""What the tests share: the GraphQL client, the operations, factories, an SMTP server, a TCP proxy."""
