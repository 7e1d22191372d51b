// "Link with your bank (instant)" on /bank-accounts: ask the portal for a Plaid link token,
// load Plaid Link (https://plaid.com/docs/link/web/), open it, and post the public token and
// the chosen account to /bank-accounts/plaid in the page's hidden form. An invoice link's
// checkout uses it too: the button's data-form names the form to post (its own fields go
// with it) and data-action where; data-check asks the form's fields to be valid first. Only Plaid.create,
// onLoad, onSuccess, onExit, open and destroy are used, so Plaid's Link and the local
// stand-in behave the same. Without this script the button stays hidden and the numbers
// can still be typed in.
(function () {
  "use strict";
  var button = document.getElementById("link-bank");
  var form = button && document.getElementById(button.dataset.form || "plaid-form");
  if (!button || !form || !window.fetch || !window.Promise) { return; }
  var status = document.getElementById("link-status");
  var csrf = form.querySelector("input[name=csrf_token]").value;
  var label = button.textContent;
  var working = false;
  var handler = null;
  var linkScript = null;

  function say(text) { status.textContent = text || ""; }

  function busy(on) {
    working = on;
    button.setAttribute("aria-busy", on ? "true" : "false");
    button.textContent = on ? button.dataset.working : label;
  }

  function loadLink() {
    if (window.Plaid && typeof window.Plaid.create === "function") { return Promise.resolve(); }
    if (linkScript) { return linkScript; }
    linkScript = new Promise(function (resolve, reject) {
      var script = document.createElement("script");
      script.src = button.dataset.linkJs;
      script.onload = resolve;
      script.onerror = function () { linkScript = null; reject(new Error("")); };
      document.head.appendChild(script);
    });
    return linkScript;
  }

  function linkToken() {
    return fetch(button.dataset.tokenUrl, {
      method: "POST", credentials: "same-origin",
      headers: { "X-CSRFToken": csrf, "Accept": "application/json" }
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok || !data.link_token) { throw new Error(data.error || ""); }
        return data.link_token;
      });
    });
  }

  function chosenAccount(metadata) {
    if (metadata.account_id) { return metadata.account_id; }
    var accounts = metadata.accounts || [];
    return accounts.length ? accounts[0].id : "";
  }

  function open(token) {
    var loaded = false;
    if (handler) { handler.destroy(); }
    handler = window.Plaid.create({
      token: token,
      onLoad: function () {
        loaded = true;
        if (handler) { handler.open(); }
      },
      onSuccess: function (publicToken, metadata) {
        form.querySelector("input[name=public_token]").value = publicToken;
        form.querySelector("input[name=account_id]").value = chosenAccount(metadata || {});
        button.textContent = button.dataset.saving;
        say(button.dataset.saving);
        if (button.dataset.action) { form.action = button.dataset.action; }
        form.submit();
      },
      onExit: function (error) {
        busy(false);
        say(error ? button.dataset.failed : button.dataset.cancelled);
      }
    });
    if (loaded) { handler.open(); }
  }

  button.addEventListener("click", function () {
    if (working) { return; }
    if (button.dataset.check && !form.reportValidity()) { return; }
    busy(true);
    say("");
    Promise.all([linkToken(), loadLink()]).then(function (results) {
      open(results[0]);
    }).catch(function (error) {
      busy(false);
      say((error && error.message) || button.dataset.failed);
    });
  });
  button.hidden = false;
})();
