/* A bar chart for YASR, the SPARQL page's result viewer: YASGUI's charts (Triply's) load Google Charts from
   the network, so this one draws plain SVG here. It offers itself for a SELECT answer with a numeric column
   (counts, sizes): one bar per row, its length the numeric column, its name another column (both chosen
   above the chart); or, for one row of numbers only (a summary of counts), one bar per column. The download
   is the SVG. */
"use strict";
(function () {
  const XSD = "http://www.w3.org/2001/XMLSchema#";
  const NUMERIC = new Set(["integer", "decimal", "double", "float", "int", "long", "short", "byte",
    "nonNegativeInteger", "positiveInteger", "nonPositiveInteger", "negativeInteger", "unsignedInt",
    "unsignedLong", "unsignedShort", "unsignedByte"].map((name) => XSD + name));
  const MAX_BARS = 200, BAR = 22, LABEL_WIDTH = 320, WIDTH = 900, SVG_NS = "http://www.w3.org/2000/svg";

  function isNumber(binding) {
    return binding && binding.type !== "uri" && NUMERIC.has(binding.datatype) && Number.isFinite(Number(binding.value));
  }

  function svgElement(name, attributes, text) {
    const element = document.createElementNS(SVG_NS, name);
    for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, value);
    if (text !== undefined) element.textContent = text;
    return element;
  }

  class BarChart {
    constructor(yasr) {
      this.yasr = yasr;
      this.label = "Chart";
      this.priority = 5;
      this.svg = null;
    }

    columns() {
      const results = this.yasr.results;
      const variables = results.getVariables(), rows = results.getBindings() || [];
      const numeric = variables.filter((name) => rows.some((row) => row[name]) &&
        rows.every((row) => !row[name] || isNumber(row[name])));
      return {variables, rows, numeric, names: variables.filter((name) => !numeric.includes(name))};
    }

    canHandleResults() {
      const results = this.yasr.results;
      if (!results || results.getError() || !results.getVariables || !results.getBindings()) return false;
      const {rows, numeric, names} = this.columns();
      return rows.length > 0 && numeric.length > 0 && (names.length > 0 || rows.length === 1);
    }

    shortName(binding) {
      if (!binding) return "";
      if (binding.type !== "uri") return binding.value;
      const prefixes = this.yasr.getPrefixes() || {};
      for (const [prefix, namespace] of Object.entries(prefixes)) {
        if (binding.value.startsWith(namespace)) return `${prefix}:${binding.value.slice(namespace.length)}`;
      }
      return binding.value;
    }

    draw() {
      const {rows, numeric, names} = this.columns();
      const root = document.createElement("div");
      root.className = "mscevChart";
      const figure = document.createElement("div");
      this.yasr.resultsEl.appendChild(root);
      if (names.length === 0) {  // one row of numbers: a bar per column
        root.appendChild(figure);
        this.drawBars(figure, numeric.filter((name) => rows[0][name]).map((name) => ({
          name: name, value: Number(rows[0][name].value), text: rows[0][name].value})), "values");
        return;
      }
      // the name column: the first whose values differ from row to row (a query's fixed parameter says nothing)
      const varying = names.find((name) => new Set(rows.map((row) => row[name] && row[name].value)).size > 1);
      const choice = {name: varying || names[0], value: numeric[0]};
      const redraw = () => this.drawBars(figure, rows.map((row) => ({
        name: this.shortName(row[choice.name]), value: row[choice.value] ? Number(row[choice.value].value) : 0,
        text: row[choice.value] ? row[choice.value].value : ""})), `${choice.value} by ${choice.name}`);
      const controls = document.createElement("p");
      controls.className = "chartControls";
      for (const [key, label, options] of [["name", "Bars", names], ["value", "length", numeric]]) {
        const select = document.createElement("select");
        select.setAttribute("aria-label", `${label} of the chart`);
        for (const option of options) select.add(new Option(option, option, false, option === choice[key]));
        select.addEventListener("change", () => { choice[key] = select.value; redraw(); });
        controls.append(`${label} `, select, " ");
      }
      root.append(controls, figure);
      redraw();
    }

    drawBars(figure, bars, title) {
      const shown = bars.slice(0, MAX_BARS);
      const largest = Math.max(...shown.map((bar) => Math.abs(bar.value)), 1e-9);
      const barSpace = WIDTH - LABEL_WIDTH - 60;
      const svg = svgElement("svg", {xmlns: SVG_NS, width: WIDTH, height: shown.length * BAR + 10, role: "img",
        "aria-label": title, class: "barChart"});
      shown.forEach((bar, index) => {
        const y = index * BAR + 5;
        const label = svgElement("text", {x: LABEL_WIDTH - 8, y: y + BAR / 2 + 4, "text-anchor": "end"},
          bar.name.length > 48 ? bar.name.slice(0, 47) + "…" : bar.name);
        label.appendChild(svgElement("title", {}, bar.name));
        const length = Math.max(1, (Math.abs(bar.value) / largest) * barSpace);
        svg.append(label,
          svgElement("rect", {x: LABEL_WIDTH, y: y + 3, width: length, height: BAR - 6, rx: 2}),
          svgElement("text", {x: LABEL_WIDTH + length + 6, y: y + BAR / 2 + 4, class: "value"}, bar.text));
      });
      figure.replaceChildren(svg);
      if (bars.length > MAX_BARS) {
        const note = document.createElement("p");
        note.textContent = `The first ${MAX_BARS} of ${bars.length} rows.`;
        figure.appendChild(note);
      }
      this.svg = svg;
    }

    getIcon() {
      const icon = svgElement("svg", {viewBox: "0 0 16 16", width: "16", height: "16", "aria-hidden": "true"});
      for (const [y, width] of [[2, 14], [7, 9], [12, 5]]) {
        icon.appendChild(svgElement("rect", {x: 1, y: y, width: width, height: 3, fill: "currentColor"}));
      }
      return icon;
    }

    download() {
      if (!this.svg) return undefined;
      const style = "<style>text{font:12px sans-serif;fill:#1f2933}rect{fill:#0b5394}</style>";
      return {
        contentType: "image/svg+xml",
        getData: () => this.svg.outerHTML.replace(/^<svg([^>]*)>/, `<svg$1>${style}`),
        filename: "chart.svg",
        title: "Download the chart (SVG)",
      };
    }
  }

  Yasgui.Yasr.registerPlugin("chart", BarChart);
})();
