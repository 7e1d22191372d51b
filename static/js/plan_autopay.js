// A plan's autopay with a new card: the server starts a SetupIntent, Stripe.js confirms
// it with the card Element (the card's details go to Stripe, never to the portal), and
// the form then posts the SetupIntent's id; the server checks with Stripe that it
// succeeded for this account before charging that card. Saved cards and bank accounts
// need no script. Works with real Stripe.js and the local stand-in alike.
(function () {
  "use strict";
  var form = document.getElementById("autopay-form");
  if (!form || !form.dataset.setupUrl) { return; }
  var box = document.getElementById("new-card");
  var errors = document.getElementById("card-errors");
  var button = document.getElementById("autopay-on");
  var label = button.textContent;
  var stripe = null;
  var card = null;
  var ready = false;

  function chosen() {
    var radio = form.querySelector("input[name=method]:checked");
    return radio ? radio.value : "";
  }
  function show() { box.hidden = chosen() !== "newcard"; errors.textContent = ""; }
  function busy(on) {
    button.disabled = on;
    button.setAttribute("aria-busy", on ? "true" : "false");
    button.textContent = on ? form.dataset.working : label;
  }
  function fail(message) { busy(false); errors.textContent = message || form.dataset.cardError; }

  Array.prototype.forEach.call(form.querySelectorAll("input[name=method]"), function (radio) {
    radio.addEventListener("change", show);
  });
  show();
  if (typeof window.Stripe === "function") {
    stripe = window.Stripe(form.dataset.publishableKey, { locale: form.dataset.locale });
    card = stripe.elements().create("card", { hidePostalCode: false });
    card.mount("#card-element");
  }

  form.addEventListener("submit", function (event) {
    if (ready || event.submitter !== button || chosen() !== "newcard") { return; }
    event.preventDefault();
    if (!stripe || !card) { errors.textContent = form.dataset.stripeMissing; return; }
    busy(true);
    errors.textContent = "";
    var data = new FormData();
    data.append("csrf_token", form.elements.csrf_token.value);
    fetch(form.dataset.setupUrl, { method: "POST", body: data, credentials: "same-origin" })
      .then(function (response) {
        return response.json().then(function (body) {
          if (!response.ok || !body.client_secret) { throw new Error(body.error || ""); }
          return body.client_secret;
        });
      })
      .then(function (secret) {
        return stripe.confirmCardSetup(secret, { payment_method: { card: card, billing_details: {
          name: form.dataset.payerName, email: form.dataset.payerEmail } } });
      })
      .then(function (result) {
        if (!result || result.error || !result.setupIntent) {
          fail(result && result.error && result.error.message);
          return;
        }
        form.elements.setup_intent.value = result.setupIntent.id;
        ready = true;
        button.disabled = false;  // a disabled submitter cannot submit
        form.requestSubmit(button);
        button.disabled = true;
      }, function (error) { fail(error && error.message); });
  });
})();
