// The checkout's card step: Stripe.js turns the card Element into a PaymentMethod id,
// and the form posts only that id (card data never reaches the portal). Works with
// real Stripe.js and the local stand-in alike: only Stripe(), elements().create('card'),
// mount() and createPaymentMethod() are used. A saved card needs no script at all.
// With bank accounts on file the payer chooses ACH or card; for ACH this only shows the
// chosen section and the authorization of the chosen account (without the script every
// section and every account's authorization shows, each naming its account).
(function () {
  "use strict";
  var section = document.getElementById("pay-section");
  if (!section) { return; }
  var form = section.closest("form");
  var button = document.getElementById("pay-button");
  var errors = document.getElementById("card-errors");
  var newCard = document.getElementById("new-card");
  var methodField = form.querySelector("input[name=payment_method]");
  var label = button.textContent;
  var card = null;
  var stripe = null;
  var ready = false;

  function say(message) { errors.textContent = message || ""; }

  function chosen() {
    var radio = form.querySelector("input[name=card]:checked");
    var field = radio || form.querySelector("input[name=card]");
    return field ? field.value : "new";
  }

  function showChoice() {
    if (newCard) { newCard.hidden = chosen() !== "new"; }
    say("");
  }

  function method() {
    var radio = form.querySelector("input[name=method]:checked");
    return radio ? radio.value : "card";
  }

  function showMethod() {
    var achSection = document.getElementById("ach-section");
    var cardSection = document.getElementById("card-section");
    if (achSection) { achSection.hidden = method() !== "ach"; }
    if (cardSection) { cardSection.hidden = method() === "ach"; }
    var bank = form.querySelector("input[name=bank_account]:checked");
    Array.prototype.forEach.call(form.querySelectorAll("[data-authorization-for]"), function (p) {
      p.hidden = !bank || p.getAttribute("data-authorization-for") !== bank.id;
    });
    say("");
  }
  Array.prototype.forEach.call(form.querySelectorAll("input[name=method], input[name=bank_account]"),
    function (radio) { radio.addEventListener("change", showMethod); });
  showMethod();

  if (typeof window.Stripe === "function") {
    stripe = window.Stripe(section.dataset.publishableKey, { locale: section.dataset.locale });
    card = stripe.elements().create("card", { hidePostalCode: false });
    card.mount("#card-element");
    if (card.on) { card.on("change", function (event) { say(event && event.error ? event.error.message : ""); }); }
  }
  Array.prototype.forEach.call(form.querySelectorAll("input[name=card]"), function (radio) {
    radio.addEventListener("change", showChoice);
  });

  // Who pays: the signed-in user (the section's data), or what an invoice link's payer typed.
  function payer(what) {
    var field = form.querySelector("input[name=payer_" + what + "]");
    return field ? field.value.trim() : section.dataset["payer" + (what === "name" ? "Name" : "Email")];
  }

  function busy(on) {
    button.disabled = on;
    button.setAttribute("aria-busy", on ? "true" : "false");
    button.textContent = on ? section.dataset.working : label;
  }

  form.addEventListener("submit", function (event) {
    if (event.submitter !== button) { return; }  // "Update totals", "Spread"
    if (ready) { return; }  // the second, real submission
    if (method() === "ach" || chosen() !== "new") {
      ready = true;
      window.setTimeout(function () { busy(true); }, 0);  // after the form data is taken
      return;
    }
    event.preventDefault();
    if (!stripe || !card) { say(section.dataset.stripeMissing); return; }
    busy(true);
    say("");
    stripe.createPaymentMethod({
      type: "card", card: card,
      billing_details: { name: payer("name"), email: payer("email") }
    }).then(function (result) {
      if (!result || result.error || !result.paymentMethod) {
        busy(false);
        say((result && result.error && result.error.message) || section.dataset.cardError);
        return;
      }
      methodField.value = result.paymentMethod.id;
      ready = true;
      button.disabled = false;  // a disabled submitter cannot submit
      form.requestSubmit(button);
      button.disabled = true;
    }, function () {
      busy(false);
      say(section.dataset.cardError);
    });
  });
})();
