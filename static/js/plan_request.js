// The plan request page: the schedule follows what is typed, computed by the server
// (POST /plans/preview returns the schedule's fragment), so the page never does money
// arithmetic of its own. Without JavaScript, "Show the schedule" does the same.
(function () {
  "use strict";
  var form = document.getElementById("plan-form");
  if (!form) return;
  var target = document.getElementById("plan-preview");
  var timer = null;
  var latest = 0;

  function refresh() {
    var asked = ++latest;
    var data = new FormData(form);
    data.delete("action");
    fetch(form.getAttribute("data-preview-url"), {
      method: "POST", body: data, credentials: "same-origin",
      headers: { "X-Requested-With": "fetch" }
    }).then(function (response) {
      return response.ok ? response.text() : null;
    }).then(function (html) {
      if (html !== null && asked === latest) target.innerHTML = html;
    }).catch(function () { /* the button still works */ });
  }

  function soon() {
    clearTimeout(timer);
    timer = setTimeout(refresh, 250);
  }

  var button = document.getElementById("show-schedule");
  if (button) button.hidden = true;  // the schedule shows itself
  form.addEventListener("input", soon);
  form.addEventListener("change", soon);
  refresh();
})();
