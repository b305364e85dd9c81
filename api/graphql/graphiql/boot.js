// Starts GraphiQL against this page's own URL. `#headers=` (JSON) pre-fills the headers
// editor, which is how `dnc-api demo` hands over a ready bearer token: in the fragment, the
// token never reaches the server or its access log. `#q=` pre-fills the query.
(function () {
  var params = new URLSearchParams(window.location.hash.slice(1));
  var url = window.location.href.split("?")[0];
  var fetcher = GraphiQL.createFetcher({ url: url });
  var example = [
    "# Paste your token in the Headers tab below:",
    '#   {"Authorization": "Bearer <token>"}',
    "query Me {",
    "  me { id email role }",
    "  dncEntries(first: 10) { totalCount edges { node { phoneNumber reason createdAt } } }",
    "}",
    "",
  ].join("\n");
  var root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: example,
      query: params.get("q") || undefined,
      headers: params.get("headers") || undefined,
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: false,
      defaultEditorToolsVisibility: params.get("headers") ? "headers" : true,
    })
  );
})();
