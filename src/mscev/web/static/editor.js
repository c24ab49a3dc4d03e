/* The SPARQL page's editor: YASGUI over this server's endpoint, configured from the page's #editor-config
   (mscev.web.editor). Everything it uses comes from this server: YASQE's own completers would ask the network
   (a prefix list, the Linked Open Vocabularies service), so the project's prefixes and the graph's classes and
   properties replace them. Without JavaScript, or if YASGUI cannot start, the page's plain form stays. */
"use strict";
(function () {
  const config = JSON.parse(document.getElementById("editor-config").textContent);
  const MSCEV = "https://w3id.org/mscev/";
  const endpoint = new URL(config.endpoint, window.location.href).href;
  const Yasqe = Yasgui.Yasqe;

  // a bulk completer given an array always uses it (never a list remembered from an older build)
  Yasqe.forkAutocompleter("prefixes", {
    name: "project-prefixes", persistenceId: "mscev-prefixes",
    get: Object.entries(config.prefixes).map(([prefix, namespace]) => `${prefix}: <${namespace}>`).sort(),
  }, false);
  Yasqe.forkAutocompleter("class", {
    name: "project-classes", bulk: true, persistenceId: "mscev-classes", get: config.classes,
  }, false);
  Yasqe.forkAutocompleter("property", {
    name: "project-properties", bulk: true, persistenceId: "mscev-properties", get: config.properties,
  }, false);
  // set on the defaults as well: YASGUI merges arrays element by element, which would keep the network completers
  const completers = ["project-prefixes", "variables", "project-classes", "project-properties"];
  Yasqe.defaults.autocompleters = completers;
  Yasgui.defaults.yasqe.autocompleters = completers;

  // numbers as numbers in result tables, not "7"^^xsd:integer (other typed literals keep their datatype)
  const Table = Yasgui.Yasr.plugins.table, formatLiteral = Table.prototype.formatLiteral;
  const NUMBER_TYPES = ["integer", "decimal", "double"].map((name) => "http://www.w3.org/2001/XMLSchema#" + name);
  Table.prototype.formatLiteral = function (binding, prefixes) {
    if (!NUMBER_TYPES.includes(binding.datatype)) return formatLiteral.call(this, binding, prefixes);
    const text = document.createElement("span");
    text.textContent = binding.value;
    return text.innerHTML;
  };

  const editor = document.getElementById("editor"), fallback = document.getElementById("fallback");
  editor.hidden = false;  // shown before YASGUI starts: CodeMirror measures the space it is given
  let yasgui;
  try {
    yasgui = new Yasgui(document.getElementById("yasgui"), {
      persistenceId: "mscev-sparql",
      requestConfig: {endpoint: endpoint, method: "POST", acceptHeaderGraph: "text/turtle,*/*;q=0.9"},
      endpointCatalogueOptions: {getData: () => [{endpoint: endpoint}]},
      yasqe: {value: config.examples[0].text, autocompleters: completers},
      yasr: {prefixes: config.prefixes, pluginOrder: ["table", "chart", "response"]},
    });
  } catch (error) {
    editor.hidden = true;
    throw error;
  }
  fallback.hidden = true;
  window.yasgui = yasgui;

  const examples = document.getElementById("examples");
  examples.addEventListener("change", () => {
    const example = config.examples[examples.value];
    examples.value = "";
    if (example) {
      yasgui.addTab(true, {name: example.name, yasqe: {value: example.text}}, {avoidDuplicateTabs: true});
    }
  });

  // IRIs in result tables open this server's page about them, not the IRI's own site (tables are drawn a page
  // at a time, so links are rewritten as they appear)
  function localPage(iri) {
    const path = iri.startsWith(MSCEV) ? iri.slice(MSCEV.length) : null;
    return path !== null && !path.startsWith("/") ? "/" + path : "/resource?iri=" + encodeURIComponent(iri);
  }
  new MutationObserver(() => {
    for (const link of editor.querySelectorAll("a.iri:not([data-iri])")) {
      link.dataset.iri = link.getAttribute("href");
      link.setAttribute("href", localPage(link.dataset.iri));
    }
  }).observe(editor, {childList: true, subtree: true});
})();
