
(function () {
  "use strict";
  var KEYS = ["model", "endpoint", "verdict", "outcome", "check"];
  var ctl = {};
  KEYS.forEach(function (k) { ctl[k] = document.getElementById("filter-" + k); });
  var all = function (sel) { return Array.prototype.slice.call(document.querySelectorAll(sel)); };
  var matrixRows = all("#matrix tbody tr"), resultRows = all("#results tbody tr.r"),
      failures = all("details.failure"), colHeads = all("#matrix th.sub"), groups = all("#matrix th.group");

  function state() { var s = {}; KEYS.forEach(function (k) { s[k] = ctl[k].value.trim(); }); return s; }
  function matcher(pattern) {
    if (!pattern) { return function () { return true; }; }
    var p = pattern.toLowerCase();
    if (p.indexOf("*") < 0 && p.indexOf("?") < 0) {
      return function (t) { return t.toLowerCase().indexOf(p) >= 0; };
    }
    var re = new RegExp("^" + p.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".") + "$");
    return function (t) { return re.test(t.toLowerCase()); };
  }
  function among(list, value) { return !value || (" " + list + " ").indexOf(" " + value + " ") >= 0; }
  function toHash(s) {
    return KEYS.filter(function (k) { return s[k]; })
      .map(function (k) { return k + "=" + encodeURIComponent(s[k]); }).join("&");
  }
  function fromHash() {
    var h = window.location.hash.replace(/^#/, "");
    if (h.indexOf("=") < 0) { return false; }
    h.split("&").forEach(function (part) {
      var i = part.indexOf("="), k = part.slice(0, i), v = decodeURIComponent(part.slice(i + 1));
      if (KEYS.indexOf(k) < 0) { return; }
      var c = ctl[k];
      if (c.tagName === "SELECT" && !all("#filter-" + k + " option").some(function (o) { return o.value === v; })) {
        var o = document.createElement("option"); o.value = v; o.textContent = v; c.appendChild(o);
      }
      c.value = v;
    });
    return true;
  }
  function apply(writeHash) {
    var s = state(), text = matcher(s.check), visible = 0, rows = 0, shown = 0;
    colHeads.forEach(function (th) { th.hidden = !among(th.dataset.endpoints, s.endpoint); });
    groups.forEach(function (g) {
      var n = colHeads.filter(function (th) { return th.dataset.group === g.dataset.group && !th.hidden; }).length;
      g.hidden = n === 0; g.colSpan = Math.max(n, 1);
    });
    matrixRows.forEach(function (tr) {
      var any = !s.endpoint && !s.verdict;  // a model probed for nothing the filters keep is left out
      all("#" + tr.id + " td.cell").forEach(function (td) {
        td.hidden = !among(td.dataset.endpoints, s.endpoint);
        var hit = s.verdict ? td.dataset.verdict === s.verdict : td.dataset.verdict !== "not probed";
        td.classList.toggle("dim", !!s.verdict && !hit);
        if (hit && !td.hidden) { any = true; }
      });
      tr.hidden = (s.model && tr.dataset.model !== s.model) || !any;
      if (!tr.hidden) { rows += 1; }
    });
    function keep(el) {
      var d = el.dataset;
      return (!s.model || d.model === s.model) && (!s.endpoint || d.endpoint === s.endpoint) &&
             (!s.outcome || d.outcome === s.outcome) && (text(d.check) || text(d.case));
    }
    resultRows.forEach(function (tr) { tr.hidden = !keep(tr); if (!tr.hidden) { visible += 1; } });
    failures.forEach(function (f) { f.hidden = !keep(f); if (!f.hidden) { shown += 1; } });
    document.getElementById("results-none").hidden = visible > 0;
    document.getElementById("matrix-none").hidden = rows > 0;
    var fn = document.getElementById("failures-none"); if (fn) { fn.hidden = shown > 0 || failures.length === 0; }
    document.getElementById("count").textContent = visible + " of " + resultRows.length + " results shown";
    var b = document.body.dataset;
    b.visibleResults = visible; b.visibleFailures = shown; b.visibleMatrixRows = rows;
    if (writeHash) {
      var h = toHash(s), url = window.location.pathname + window.location.search + (h ? "#" + h : "");
      try { window.history.replaceState(null, "", url); } catch (e) { /* a file:// page may refuse */ }
    }
  }
  KEYS.forEach(function (k) {
    ctl[k].addEventListener(k === "check" ? "input" : "change", function () { apply(true); });
  });
  document.getElementById("filter-reset").addEventListener("click", function () {
    KEYS.forEach(function (k) { ctl[k].value = ""; }); apply(true);
  });
  all("button.chip[data-outcome]").forEach(function (b) {
    b.addEventListener("click", function () {
      ctl.outcome.value = ctl.outcome.value === b.dataset.outcome ? "" : b.dataset.outcome; apply(true);
      document.getElementById("results").scrollIntoView();
    });
  });
  all("button.chip[data-check]").forEach(function (b) {
    b.addEventListener("click", function () {
      ctl.check.value = ctl.check.value === b.dataset.check ? "" : b.dataset.check; apply(true);
    });
  });
  var toggle = document.getElementById("toggle-all");
  if (toggle) {
    toggle.addEventListener("click", function () {
      var open = toggle.textContent === "expand all";
      failures.forEach(function (f) { f.open = open; });
      toggle.textContent = open ? "collapse all" : "expand all";
    });
  }
  all("#matrix td.cell").forEach(function (td) {
    td.addEventListener("click", function () {
      ctl.model.value = td.parentNode.dataset.model; ctl.endpoint.value = td.dataset.endpoints.split(" ")[0];
      ctl.verdict.value = ""; apply(true); document.getElementById("results").scrollIntoView();
    });
  });
  all("button.copy").forEach(function (b) {
    b.addEventListener("click", function () {
      var pre = document.getElementById(b.dataset.target), sel = window.getSelection(), r = document.createRange();
      r.selectNodeContents(pre); sel.removeAllRanges(); sel.addRange(r);
      var done = function () { b.textContent = "copied"; };
      if (navigator.clipboard) { navigator.clipboard.writeText(pre.textContent).then(done, function () {}); }
      else { try { document.execCommand("copy"); done(); } catch (e) { /* selected: Ctrl-C */ } }
    });
  });
  window.addEventListener("hashchange", function () { if (fromHash()) { apply(false); } });
  fromHash();
  apply(false);
  document.body.dataset.ready = "1";
}());
