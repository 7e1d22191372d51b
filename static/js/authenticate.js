// 3-D Secure: Stripe.js shows the card's bank's check for a PaymentIntent the server has
// confirmed (status requires_action); then the return page asks Stripe how it ended.
(function () {
  "use strict";
  var box = document.getElementById("authenticate");
  if (!box) { return; }
  var button = document.getElementById("verify-button");
  var errors = document.getElementById("verify-errors");

  function verify() {
    if (typeof window.Stripe !== "function") { errors.textContent = box.dataset.stripeMissing; return; }
    button.disabled = true;
    var stripe = window.Stripe(box.dataset.publishableKey, { locale: box.dataset.locale });
    stripe.confirmCardPayment(box.dataset.clientSecret).then(function () {
      // Succeeded or not, the server asks Stripe and says what happened.
      window.location.assign(box.dataset.returnUrl);
    }, function () {
      window.location.assign(box.dataset.returnUrl);
    });
  }
  button.addEventListener("click", verify);
  verify();
})();
