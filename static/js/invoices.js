/* The invoice list's selection for payment, kept across pages (progressive enhancement).
 *
 * Without this script the checked boxes of the page are posted to the checkout.
 * With it, the selection lives in sessionStorage (this tab only), so boxes checked
 * on other pages are posted too, and "select all matching" selects every payable
 * invoice of the current filter (posted as the filter's token plus the numbers
 * left out). The total shown here is only a display: the checkout computes every
 * amount on the server. Amounts are integer minor units (BigInt), never floats.
 */
(function () {
  "use strict";

  var form = document.getElementById("pay-form");
  if (!form || !window.sessionStorage || typeof BigInt !== "function") { return; }

  var storageKey = form.dataset.storageKey;
  var filterToken = form.dataset.filter || "";
  var matchingCount = parseInt(form.dataset.matchingCount || "0", 10);
  var matchingTotals = JSON.parse(form.dataset.matchingTotals || "[]");
  var locale = document.documentElement.lang || "en";
  var statusEl = document.getElementById("selection-status");
  var selectPage = document.getElementById("select-page");
  var selectAll = document.getElementById("select-all-matching");
  var clearButton = document.getElementById("clear-selection");
  var downloadButton = document.getElementById("download-selected");
  var boxes = Array.prototype.slice.call(document.querySelectorAll("input.select-invoice"));

  function emptyState() { return { mode: "some", items: {}, exclude: {}, filter: "" }; }

  function load() {
    try {
      var saved = JSON.parse(sessionStorage.getItem(storageKey) || "null");
      if (saved && (saved.mode === "some" || saved.mode === "all")) {
        saved.items = saved.items || {};
        saved.exclude = saved.exclude || {};
        return saved;
      }
    } catch (e) { /* a damaged entry is replaced below */ }
    return emptyState();
  }

  var state = load();
  // "All matching" means the filter it was chosen with; another filter starts afresh.
  if (state.mode === "all" && state.filter !== filterToken) { state = emptyState(); }

  function save() { sessionStorage.setItem(storageKey, JSON.stringify(state)); }

  function entryOf(box) {
    return { c: box.dataset.currency, m: box.dataset.minor, e: parseInt(box.dataset.exponent, 10) };
  }

  function isSelected(number) {
    return state.mode === "all" ? !state.exclude[number] : !!state.items[number];
  }

  function decimalText(minor, exponent) {
    var negative = minor < 0n;
    var digits = (negative ? -minor : minor).toString();
    if (exponent > 0) {
      while (digits.length <= exponent) { digits = "0" + digits; }
      digits = digits.slice(0, digits.length - exponent) + "." + digits.slice(digits.length - exponent);
    }
    return (negative ? "-" : "") + digits;
  }

  function formatMoney(minor, currency, exponent) {
    var text = decimalText(minor, exponent);
    try {
      // Intl formats a decimal string exactly (no float on the way).
      return new Intl.NumberFormat(locale, { style: "currency", currency: currency }).format(text);
    } catch (e) {
      return text + " " + currency;
    }
  }

  function totals() {
    var sums = {};
    var count = 0;
    function add(entry, sign) {
      if (!sums[entry.c]) { sums[entry.c] = { minor: 0n, e: entry.e }; }
      sums[entry.c].minor += sign * BigInt(entry.m);
    }
    if (state.mode === "all") {
      matchingTotals.forEach(function (t) { add({ c: t.currency, m: t.minor, e: t.exponent }, 1n); });
      count = matchingCount;
      Object.keys(state.exclude).forEach(function (n) { add(state.exclude[n], -1n); count -= 1; });
    } else {
      Object.keys(state.items).forEach(function (n) { add(state.items[n], 1n); count += 1; });
    }
    var text = Object.keys(sums).sort().filter(function (c) { return sums[c].minor !== 0n; })
      .map(function (c) { return formatMoney(sums[c].minor, c, sums[c].e); });
    return { count: count, text: text.join(" + ") };
  }

  function render() {
    boxes.forEach(function (box) { box.checked = isSelected(box.value); });
    var checked = boxes.filter(function (b) { return b.checked; }).length;
    if (selectPage) {
      selectPage.hidden = boxes.length === 0;
      selectPage.checked = boxes.length > 0 && checked === boxes.length;
      selectPage.indeterminate = checked > 0 && checked < boxes.length;
    }
    var sum = totals();
    if (sum.count <= 0) {
      statusEl.textContent = form.dataset.msgNone;
    } else {
      var template = state.mode === "all" && Object.keys(state.exclude).length === 0
        ? form.dataset.msgAll : form.dataset.msgSome;
      statusEl.textContent = template.replace("{count}", String(sum.count)).replace("{total}", sum.text);
    }
    // Boxes on this page cover everything when all that match are here.
    if (selectAll) { selectAll.hidden = state.mode === "all" || matchingCount <= boxes.length; }
    if (clearButton) { clearButton.hidden = sum.count <= 0; }
    if (downloadButton) { downloadButton.hidden = sum.count <= 0; }
    form.classList.toggle("is-active", sum.count > 0);
  }

  function setSelected(box, selected) {
    if (state.mode === "all") {
      if (selected) { delete state.exclude[box.value]; } else { state.exclude[box.value] = entryOf(box); }
    } else if (selected) {
      state.items[box.value] = entryOf(box);
    } else {
      delete state.items[box.value];
    }
  }

  // Refresh what is stored for the invoices on this page (their open amounts may have changed).
  boxes.forEach(function (box) {
    if (state.mode === "some" && state.items[box.value]) { state.items[box.value] = entryOf(box); }
    if (state.mode === "all" && state.exclude[box.value]) { state.exclude[box.value] = entryOf(box); }
    box.addEventListener("change", function () { setSelected(box, box.checked); save(); render(); });
  });

  if (selectPage) {
    selectPage.addEventListener("change", function () {
      var on = selectPage.checked;
      boxes.forEach(function (box) { setSelected(box, on); });
      save();
      render();
    });
  }

  if (selectAll) {
    selectAll.addEventListener("click", function () {
      state = { mode: "all", items: {}, exclude: {}, filter: filterToken };
      save();
      render();
      if (clearButton) { clearButton.focus(); }
    });
  }

  if (clearButton) {
    clearButton.addEventListener("click", function () {
      state = emptyState();
      save();
      render();
      if (boxes.length) { boxes[0].focus(); }
    });
  }

  function hidden(name, value) {
    var input = document.createElement("input");
    input.type = "hidden";
    input.name = name;
    input.value = value;
    input.setAttribute("data-added", "");
    form.appendChild(input);
  }

  // One PDF of the selected invoices (a GET: the download changes nothing).
  if (downloadButton) {
    downloadButton.addEventListener("click", function () {
      var count = totals().count;
      if (count <= 0) { statusEl.textContent = form.dataset.msgEmptyDownload; return; }
      if (count > parseInt(form.dataset.maxDownload, 10)) {
        statusEl.textContent = form.dataset.msgTooMany;
        return;
      }
      var query = new URLSearchParams();
      if (state.mode === "all") {
        query.append("selection", "all");
        query.append("matching", filterToken);
        Object.keys(state.exclude).forEach(function (n) { query.append("exclude", n); });
      } else {
        Object.keys(state.items).forEach(function (n) { query.append("invoice", n); });
      }
      window.location.assign(form.dataset.downloadUrl + "?" + query.toString());
    });
  }

  form.addEventListener("submit", function (event) {
    Array.prototype.slice.call(form.querySelectorAll("input[data-added]"))
      .forEach(function (input) { input.remove(); });
    if (totals().count <= 0) {
      event.preventDefault();
      statusEl.textContent = form.dataset.msgEmpty;
      return;
    }
    var onPage = {};
    boxes.forEach(function (box) { onPage[box.value] = true; });
    form.elements.selection.value = state.mode;
    if (state.mode === "all") {
      hidden("matching", filterToken);
      Object.keys(state.exclude).forEach(function (n) { hidden("exclude", n); });
    } else {
      // Boxes on this page post themselves; add those chosen on other pages.
      Object.keys(state.items).forEach(function (n) { if (!onPage[n]) { hidden("invoice", n); } });
    }
  });

  render();
}());
