// The findings and lines tables of report.html, drawn from the JSON block #report-data one
// page at a time; sorting and filtering work over every row, not only the page shown. Every
// text comes from carrier files or inventories, so it reaches the page as text nodes only
// (textContent; never parsed as markup). No libraries, no network.
(function () {
  "use strict";
  var block = document.getElementById("report-data");
  if (!block) return;
  var D = JSON.parse(block.textContent);
  var S = D.s;  // the string table: every column below holds indices into it

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text) e.textContent = text;
    return e;
  }
  function add(parent, child) { parent.appendChild(child); return child; }
  function fmt(n) { return n.toLocaleString("en-US"); }
  function amount(text) {  // "$1,234.50", "-$12.00" -> number; a blank sorts below every amount
    if (!text) return -Infinity;
    var v = parseFloat(text.replace(/[$,]/g, ""));
    return isNaN(v) ? -Infinity : v;
  }
  function period(td, start, end, inferred) {
    if (!start && !end) return;
    add(td, el("span", "nw", (start || "?") + " –"));
    td.appendChild(document.createTextNode(" "));
    add(td, el("span", "nw", end || "?"));
    if (inferred) { td.appendChild(document.createTextNode(" ")); add(td, el("span", "muted", "(inferred)")); }
  }
  function debounce(fn) {
    var pending;
    return function () { clearTimeout(pending); pending = setTimeout(fn, 120); };
  }

  function billLink(td, invoice, page) {  // the invoice, linked to its page in bills/ when written
    if (!page) { add(td, el("span", "id", invoice)).title = "reconcile explain " + invoice + " prints this bill line by line"; return; }
    var a = add(td, el("a", "id bill-link", invoice));
    a.setAttribute("href", D.bills + "/" + encodeURIComponent(page));
    a.title = "Every line of this bill explained";
  }
  function historyLink(td, row) {  // one click to the service's months billed vs expected
    if (row === undefined || row < 0) return;
    add(td, el("br"));
    var a = add(td, el("a", "hist-link", "months billed vs expected"));
    a.setAttribute("href", "#history-" + H.services[row].index);
  }

  // --- a service's history: months billed vs expected (reports/history.py) -----------------
  var H = D.history;
  function money(text) {  // "1234.50" -> "$1,234.50" (exact: the digits are kept as written)
    if (text === "") return "not priced";
    var neg = text.charAt(0) === "-", t = neg ? text.slice(1) : text, p = t.split(".");
    return (neg ? "-$" : "$") + p[0].replace(/\B(?=(\d{3})+(?!\d))/g, ",") + (p.length > 1 ? "." + p[1] : "");
  }
  function showHistory(index) {
    var box = document.getElementById("history-section"), body = document.getElementById("history-body");
    if (!box) return;
    var h = null;
    for (var k = 0; k < H.services.length; k++) if (String(H.services[k].index) === index) h = H.services[k];
    body.textContent = "";
    box.hidden = false;
    document.getElementById("history-title").textContent = h ? h.id : "";
    document.getElementById("history-about").textContent = h ? h.about : "";
    if (!h) {
      add(body, el("p", "none", "This report keeps the history of " + fmt(H.services.length) +
        " services: those with findings and those of the lines shown. Not this one; lines.csv has all its lines."));
      box.scrollIntoView();
      return;
    }
    var n = h.m.length, top = 0, i;
    for (i = 0; i < n; i++) top = Math.max(top, parseFloat(h.billed[i]) || 0, parseFloat(h.expected[i]) || 0);
    // bars as boxes (heights only: the figures are the table's, exact)
    var chart = el("div", "hist-chart");
    chart.setAttribute("role", "img");
    chart.setAttribute("aria-label", "Billed and expected by month");
    for (i = 0; i < n; i++) {
      var col = add(chart, el("div", "hist-month")), bars = add(col, el("div", "hist-bars"));
      [["billed", h.billed[i]], ["expected", h.expected[i]]].forEach(function (pair) {
        var v = Math.max(0, parseFloat(pair[1]) || 0);
        var bar = add(bars, el("div", "hist-bar " + pair[0]));
        bar.style.height = (top > 0 ? Math.round(v / top * 120) : 0) + "px";
        bar.title = H.months[h.m[i]] + " " + pair[0] + ": " + money(pair[1]);
      });
      add(col, el("div", "hist-label", H.months[h.m[i]].slice(2)));
    }
    var legend = add(body, el("p", "muted"));
    add(legend, el("span", "key-billed"));
    legend.appendChild(document.createTextNode("billed"));
    add(legend, el("span", "key-expected"));
    legend.appendChild(document.createTextNode("expected (recurring charges; the first and last months may be prorated)"));
    add(add(body, el("div", "scroll")), chart);
    var table = add(body, el("table", "data")), tr = add(add(table, el("thead")), el("tr"));
    ["Bill month", "Billed", "Expected", "Difference", "Findings"].forEach(function (t, c) {
      add(tr, el("th", c && c < 4 ? "num" : null, t));
    });
    var tb = add(table, el("tbody")), wrongMonths = 0;
    for (i = 0; i < n; i++) {
      var billed = h.billed[i], exp = h.expected[i], diff = h.diff[i];
      var over = diff !== "" && diff.charAt(0) !== "-" && /[1-9]/.test(diff);
      if (over || h.findings[i].length) wrongMonths++;
      tr = add(tb, el("tr", over ? "over" : null));
      add(tr, el("td", "nw", H.months[h.m[i]]));
      add(tr, el("td", "num", money(billed)));
      add(tr, el("td", "num", money(exp)));
      add(tr, el("td", "num", diff === "" ? "" : money(diff)));
      var td = add(tr, el("td", "id"));
      h.findings[i].forEach(function (id, k) {
        if (k) td.appendChild(document.createTextNode(" "));
        add(td, el("a", null, id)).setAttribute("href", "#finding-" + encodeURIComponent(id));
      });
    }
    add(body, el("p", "history-summary", wrongMonths + " of " + n + " months billed above expected or with a finding."));
    box.scrollIntoView();
  }
  var closeHistory = document.getElementById("history-close");
  if (closeHistory) closeHistory.onclick = function () {
    document.getElementById("history-section").hidden = true;
    if (/^#history-/.test(location.hash)) history.replaceState(null, "", location.pathname + location.search);
  };
  function goToHistory() {
    var m = /^#history-(\d+)$/.exec(location.hash);
    if (m) showHistory(m[1]);
  }
  window.addEventListener("hashchange", goToHistory);

  // A table showing `rows` (row numbers into the data, filtered and sorted) a page at a time.
  // spec: table, n, keys (per column heading: row -> sort key, or null), render(row, into),
  //       clear(), text(row) for the filter box, test(row) for the selects, count, noun.
  function Paged(spec) {
    var self = this;
    self.spec = spec;
    self.order = [];
    for (var i = 0; i < spec.n; i++) self.order.push(i);
    self.rows = self.order;
    self.page = 0;
    self.size = D.pageRows;
    self.query = "";
    self.haystack = null;
    self.pagers = Array.prototype.slice.call(document.querySelectorAll('.pager[data-table="' + spec.table.id + '"]'));
    self.pagers.forEach(function (p) {
      p.addEventListener("click", function (e) {
        var b = e.target.closest("button[data-go]");
        if (!b) return;
        var go = b.getAttribute("data-go"), last = self.pages() - 1;
        self.show(go === "first" ? 0 : go === "prev" ? self.page - 1 : go === "next" ? self.page + 1 : last);
      });
      p.querySelector(".page-no").addEventListener("change", function (e) {
        var n = parseInt(e.target.value, 10);
        self.show(isNaN(n) ? self.page : n - 1);
      });
      p.querySelector(".page-size").addEventListener("change", function (e) {
        var first = self.page * self.size;
        self.size = parseInt(e.target.value, 10) || D.pageRows;
        self.show(Math.floor(first / self.size));
      });
    });
    var headers = Array.prototype.slice.call(spec.table.tHead.rows[0].cells);
    headers.forEach(function (th, col) {
      if (!spec.keys[col]) { th.classList.add("nosort"); return; }
      th.addEventListener("click", function () {
        var numeric = th.getAttribute("data-type") === "num";
        var current = th.getAttribute("aria-sort");
        // money first shows the largest; text first shows A-Z; a second click reverses
        var dir = current ? (current === "ascending" ? "descending" : "ascending")
                          : (numeric ? "descending" : "ascending");
        headers.forEach(function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", dir);
        self.sort(spec.keys[col], dir === "ascending" ? 1 : -1);
      });
    });
  }
  Paged.prototype.pages = function () { return Math.max(1, Math.ceil(this.rows.length / this.size)); };
  Paged.prototype.sort = function (key, sign) {
    var n = this.spec.n, keys = new Array(n);
    for (var i = 0; i < n; i++) {
      var k = key(i);
      keys[i] = typeof k === "string" ? k.toLowerCase() : k;
    }
    this.order = this.order.slice().sort(function (a, b) {  // stable: ties keep the last order
      var x = keys[a], y = keys[b];
      return x < y ? -sign : x > y ? sign : 0;
    });
    this.filter(0);
  };
  Paged.prototype.filter = function (page) {
    var spec = this.spec, q = this.query, hay = this.haystack;
    if (q && !hay) {  // built on the first search: one lower-case text per row
      hay = this.haystack = new Array(spec.n);
      for (var i = 0; i < spec.n; i++) hay[i] = spec.text(i).toLowerCase();
    }
    this.rows = this.order.filter(function (r) { return (!q || hay[r].indexOf(q) >= 0) && spec.test(r); });
    this.show(page);
  };
  Paged.prototype.search = function (text) {
    this.query = text.trim().toLowerCase();
    this.filter(0);
  };
  Paged.prototype.show = function (page) {
    var spec = this.spec, total = this.rows.length, pages = this.pages();
    this.page = Math.max(0, Math.min(page, pages - 1));
    var start = this.page * this.size, end = Math.min(total, start + this.size);
    spec.clear();
    var into = document.createDocumentFragment();
    for (var k = start; k < end; k++) spec.render(this.rows[k], into);
    spec.attach(into);
    spec.count.textContent = "Showing " + fmt(total) + " of " + fmt(spec.n) + " " + spec.noun;
    var self = this;
    this.pagers.forEach(function (p) {
      p.querySelector(".page-no").value = String(self.page + 1);
      p.querySelector(".page-no").max = String(pages);
      p.querySelector(".page-of").textContent = "of " + fmt(pages);
      p.querySelector(".page-size").value = String(self.size);
      p.querySelector(".page-rows").textContent = total ? fmt(start + 1) + "–" + fmt(end) + " of " + fmt(total) : "nothing to show";
      p.querySelectorAll('[data-go="first"], [data-go="prev"]').forEach(function (b) { b.disabled = self.page === 0; });
      p.querySelectorAll('[data-go="next"], [data-go="last"]').forEach(function (b) { b.disabled = self.page >= pages - 1; });
    });
  };
  Paged.prototype.pageOf = function (row) {  // the page showing `row`, or -1 when filtered out
    var at = this.rows.indexOf(row);
    return at < 0 ? -1 : Math.floor(at / this.size);
  };

  // --- evidence: the tokens reports/html.py writes (class Evidence) ------------------------
  var JOIN = -1, KV = -2, GRID = -3, COUNT = -10;
  function evidence(tokens, at) {  // the node starting at tokens[at.p]; moves at.p past it
    var t = tokens[at.p], box = document.createDocumentFragment(), table, tr, i, j, n, more;
    function count() { return COUNT - tokens[at.p++]; }
    function text() {
      var k = tokens[at.p++];
      if (k !== JOIN) return S[k];
      k = tokens[at.p++];
      return S[k] + S[tokens[at.p++]];
    }
    if (t >= 0 || t === JOIN) return document.createTextNode(text());
    at.p++;
    if (t === KV) {
      var keys = F.shapes[count()];
      if (!keys.length) { add(box, el("span", "muted", "(none)")); return box; }
      table = add(box, el("table", "kv"));
      for (i = 0; i < keys.length; i++) {
        tr = add(table, el("tr"));
        add(tr, el("th", null, S[keys[i]])).scope = "row";
        add(add(tr, el("td")), evidence(tokens, at));
      }
      return box;
    }
    if (t === GRID) {
      var columns = F.shapes[count()];
      n = count(); more = count();
      table = add(box, el("table", "grid"));
      tr = add(add(table, el("thead")), el("tr"));
      columns.forEach(function (c) { add(tr, el("th", null, S[c])); });
      var body = add(table, el("tbody"));
      for (i = 0; i < n; i++) {
        tr = add(body, el("tr"));
        for (j = 0; j < columns.length; j++) add(tr, el("td", null, text()));
      }
    } else {  // LIST
      n = count(); more = count();
      var ol = add(box, el("ol", "evlist"));
      for (i = 0; i < n; i++) add(add(ol, el("li")), evidence(tokens, at));
    }
    if (more) add(box, el("p", "muted", "… " + fmt(more) + " more not shown"));
    return box;
  }

  // --- findings -----------------------------------------------------------------------------
  var F = D.findings, findingsTable = document.getElementById("findings");
  var findings = null, open = {};  // open: row -> evidence shown
  function text(col) { return function (r) { return S[F[col][r]]; }; }
  function accountLabel(r) { return (S[F.carrier[r]] + " " + S[F.account[r]]).trim(); }

  function evidenceCell(r) {
    var td = el("td");
    td.colSpan = 10;
    var head = F.id[r] ? "Finding " + F.id[r] : "Finding";
    if (S[F.description[r]]) head += " · " + S[F.description[r]];
    add(td, el("div", "muted", head));
    td.appendChild(evidence(F.tokens, {p: F.evidence[r]}));
    return td;
  }
  function setOpen(tbody, isOpen) {
    var r = Number(tbody.getAttribute("data-row")), ev = tbody.rows[1];
    if (isOpen && !ev.cells.length) ev.appendChild(evidenceCell(r));  // drawn on first opening
    ev.hidden = !isOpen;
    tbody.classList.toggle("open", isOpen);
    var b = tbody.querySelector(".toggle");
    b.setAttribute("aria-expanded", String(isOpen));
    b.textContent = isOpen ? "▾" : "▸";
    if (isOpen) open[r] = true; else delete open[r];
  }
  function renderFinding(r, into) {
    var tbody = add(into, el("tbody", "finding"));
    tbody.id = "finding-" + F.id[r];
    tbody.setAttribute("data-row", String(r));
    var tr = add(tbody, el("tr", "main")), td;
    var b = add(add(tr, el("td")), el("button", "toggle", "▸"));
    b.type = "button";
    b.title = "Show evidence";
    b.setAttribute("aria-expanded", "false");
    td = add(tr, el("td"));
    var rule = S[F.rule[r]], a = add(td, el("a", null, rule));
    a.setAttribute("href", D.glossary + "#" + encodeURIComponent(rule));
    a.title = "What this rule finds";
    add(td, el("br"));
    add(td, el("span", "sev sev-" + S[F.severity[r]], S[F.severity[r]]));
    td = add(tr, el("td", null, S[F.account[r]]));
    add(td, el("div", "sub", S[F.carrier[r]]));
    td = add(tr, el("td"));
    billLink(td, S[F.invoice[r]], S[F.bill[r]]);
    add(td, el("div", "sub nw", S[F.date[r]]));
    var service = S[F.service[r]], matched = S[F.matched[r]];
    td = add(tr, el("td", "id", service));
    if (matched && matched !== service) add(td, el("div", "sub", "= " + matched)).title = "as in the inventory";
    historyLink(td, F.hist[r]);
    period(add(tr, el("td")), S[F.start[r]], S[F.end[r]], false);
    add(tr, el("td", "num", S[F.billed[r]]));
    add(tr, el("td", "num", S[F.expected[r]]));
    add(add(tr, el("td", "num at-issue")), el("strong", null, S[F.at_issue[r]]));
    add(tr, el("td", "explain", F.explanation[r]));
    var ev = add(tbody, el("tr", "evidence"));
    ev.hidden = true;
    if (open[r]) setOpen(tbody, true);
  }

  if (findingsTable) {
    var filterBox = document.getElementById("finding-filter");
    var ruleSel = document.getElementById("rule-filter");
    var acctSel = document.getElementById("account-filter");
    findings = new Paged({
      table: findingsTable, n: F.id.length, noun: "findings",
      count: document.getElementById("shown-count"),
      keys: [null, text("rule"), accountLabel, function (r) { return S[F.date[r]] + " " + S[F.invoice[r]]; },
             text("service"), text("start"),
             function (r) { return amount(S[F.billed[r]]); }, function (r) { return amount(S[F.expected[r]]); },
             function (r) { return amount(S[F.at_issue[r]]); }, function (r) { return F.explanation[r]; }],
      text: function (r) {  // what the row shows
        return [S[F.rule[r]], S[F.severity[r]], S[F.account[r]], S[F.carrier[r]], S[F.invoice[r]],
                S[F.date[r]], S[F.service[r]], S[F.matched[r]], S[F.start[r]], S[F.end[r]],
                S[F.billed[r]], S[F.expected[r]], S[F.at_issue[r]], F.explanation[r]].join(" ");
      },
      test: function (r) {
        return (!ruleSel.value || S[F.rule[r]] === ruleSel.value) &&
               (!acctSel.value || accountLabel(r) === acctSel.value);
      },
      clear: function () {
        while (findingsTable.tBodies.length) findingsTable.removeChild(findingsTable.tBodies[0]);
      },
      attach: function (rows) { findingsTable.appendChild(rows); },
      render: renderFinding,
    });
    findingsTable.addEventListener("click", function (e) {
      var row = e.target.closest("tr.main");
      if (!row || e.target.closest("a") || window.getSelection().toString()) return;  // links go, text copies
      var tbody = row.parentNode;
      setOpen(tbody, tbody.rows[1].hidden);
    });
    function eachShown(fn) { Array.prototype.forEach.call(findingsTable.tBodies, fn); }
    document.getElementById("expand-all").onclick = function () { eachShown(function (t) { setOpen(t, true); }); };
    document.getElementById("collapse-all").onclick = function () {
      open = {};
      eachShown(function (t) { setOpen(t, false); });
    };
    filterBox.addEventListener("input", debounce(function () { findings.search(filterBox.value); }));
    ruleSel.addEventListener("change", function () { findings.filter(0); });
    acctSel.addEventListener("change", function () { findings.filter(0); });
    findings.show(0);
  }

  // report.html#finding-ID (a link from the lines table, or from outside) opens that finding
  function goToFinding() {
    var m = /^#finding-(.+)$/.exec(location.hash);
    if (!findings || !m) return;
    var id = decodeURIComponent(m[1]), r = -1;
    r = F.id.indexOf(id);
    if (r < 0) return;
    if (findings.pageOf(r) < 0) {  // filtered out: clear the filters
      filterBox.value = ""; ruleSel.value = ""; acctSel.value = ""; findings.query = "";
      findings.filter(0);
    }
    open[r] = true;
    findings.show(findings.pageOf(r));
    var target = document.getElementById("finding-" + id);
    if (target) target.scrollIntoView();
  }
  window.addEventListener("hashchange", goToFinding);
  goToFinding();
  goToHistory();

  // printing shows every filtered finding (up to a size a printer takes), then the page again
  var printing = null;
  window.addEventListener("beforeprint", function () {
    if (!findings || findings.rows.length > 2000) return;
    printing = {size: findings.size, page: findings.page};
    findings.size = Math.max(1, findings.rows.length);
    findings.show(0);
  });
  window.addEventListener("afterprint", function () {
    if (!printing) return;
    findings.size = printing.size;
    findings.show(printing.page);
    printing = null;
  });

  // --- lines --------------------------------------------------------------------------------
  var L = D.lines, linesTable = document.getElementById("lines");
  if (!linesTable || !L.n) return;
  function where(r) {
    var page = L.page[r];
    return S[L.source[r]] + (page === null ? " row " + L.row[r] : " page " + page + " line " + L.row[r]);
  }
  function ltext(col) { return function (r) { return S[L[col][r]]; }; }
  function renderLine(r, into) {
    var tr = add(into, el("tr"));
    add(tr, el("td", null, where(r)));
    add(tr, el("td", null, S[L.account[r]]));
    billLink(add(tr, el("td", "id")), S[L.invoice[r]], S[L.bill[r]]);
    add(tr, el("td", "id", S[L.service[r]]));
    add(tr, el("td", null, S[L.description[r]]));
    add(tr, el("td", null, S[L.charge[r]]));
    period(add(tr, el("td")), S[L.start[r]], S[L.end[r]], L.inferred[r]);
    add(tr, el("td", "num", S[L.amount[r]]));
    historyLink(add(tr, el("td", "id", S[L.matched[r]])), L.hist[r]);
    add(tr, el("td", "nw", S[L.method[r]]));
    add(tr, el("td", "num", S[L.score[r]]));
    add(tr, el("td", null, S[L.reason[r]]));
    var td = add(tr, el("td", "id"));
    S[L.findings[r]].split(" ").forEach(function (id, k) {
      if (!id) return;
      if (k) td.appendChild(document.createTextNode(" "));
      add(td, el("a", null, id)).setAttribute("href", "#finding-" + encodeURIComponent(id));
    });
  }
  var lineBody = linesTable.tBodies[0];
  lineBody.addEventListener("click", function (e) {  // the finding already in the address: open it again
    var a = e.target.closest("a");
    if (a && a.getAttribute("href") === location.hash) goToFinding();
  });
  var lineFilter = document.getElementById("line-filter");
  var methodSel = document.getElementById("method-filter");
  var lines = new Paged({
    table: linesTable, n: L.n, noun: "lines",
    count: document.getElementById("lines-count"),
    keys: [function (r) { return r; }, ltext("account"), ltext("invoice"), ltext("service"),
           ltext("description"), ltext("charge"), ltext("start"),
           function (r) { return amount(S[L.amount[r]]); }, ltext("matched"), ltext("method"),
           function (r) { var s = S[L.score[r]]; return s ? parseFloat(s) : -Infinity; },
           ltext("reason"), ltext("findings")],
    text: function (r) {
      return [where(r), S[L.account[r]], S[L.invoice[r]], S[L.service[r]], S[L.description[r]],
              S[L.charge[r]], S[L.start[r]], S[L.end[r]], S[L.amount[r]], S[L.matched[r]],
              S[L.method[r]], S[L.reason[r]], S[L.findings[r]]].join(" ");
    },
    test: function (r) { return !methodSel.value || S[L.method[r]] === methodSel.value; },
    clear: function () { lineBody.textContent = ""; },
    attach: function (rows) { lineBody.appendChild(rows); },
    render: renderLine,
  });
  lineFilter.addEventListener("input", debounce(function () { lines.search(lineFilter.value); }));
  methodSel.addEventListener("change", function () { lines.filter(0); });
  var details = document.getElementById("lines-details"), drawn = false;
  function drawLines() { if (details.open && !drawn) { drawn = true; lines.show(0); } }
  details.addEventListener("toggle", drawLines);  // a collapsed table is drawn when opened
  drawLines();
})();
