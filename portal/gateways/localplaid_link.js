// A local stand-in for Plaid Link (https://plaid.com/docs/link/web/), served by
// portal/gateways/localplaid.py. Plain JS; styles through the DOM, so a page whose
// Content-Security-Policy says style-src 'self' still shows it as designed.
(function () {
  'use strict';
  if (window.Plaid && window.Plaid.localStandIn) { return; }
  var script = document.currentScript;
  var BASE = script && script.src ? new URL(script.src).origin : '__LOCALPLAID_BASE__';
  var INK = '#111111', MUTED = '#4a4a4a', LINE = '#767676', ERROR = '#a4000f';
  var FOCUS = '#0b57d0';
  var VISUALLY_HIDDEN = {position: 'absolute', width: '1px', height: '1px', padding: '0',
                         margin: '-1px', overflow: 'hidden', clip: 'rect(0, 0, 0, 0)',
                         whiteSpace: 'nowrap', border: '0'};
  var handlers = 0;

  function node(tag, style, props) {
    var el = document.createElement(tag);
    Object.assign(el.style, style || {});
    Object.keys(props || {}).forEach(function (key) {
      if (key === 'text') { el.textContent = props[key]; }
      else { el.setAttribute(key, props[key]); }
    });
    return el;
  }

  function post(path, body) {
    return fetch(BASE + path, {method: 'POST', headers: {'Content-Type': 'application/json'},
                               body: JSON.stringify(body)})
      .then(function (response) {
        return response.json().then(function (data) { return {ok: response.ok, data: data}; });
      })
      .catch(function (err) {
        return {ok: false, data: {error_type: 'API_ERROR', error_code: 'INTERNAL_SERVER_ERROR',
                                  error_message: String(err), display_message: null}};
      });
  }

  function plaidError(data) {
    return {error_type: data.error_type, error_code: data.error_code,
            error_message: data.error_message, display_message: data.display_message || null};
  }

  // Focus rings and the backdrop cannot be set on elements; a constructed sheet is
  // outside CSP's reach. Without it the browser's own focus ring and backdrop remain.
  var styled = false;
  function adoptStyles() {
    if (styled) { return; }
    styled = true;
    try {
      var sheet = new CSSStyleSheet();
      sheet.replaceSync(
        'dialog.plaid-local::backdrop{background:rgba(17,17,17,0.6)}' +
        'dialog.plaid-local :focus-visible{outline:3px solid ' + FOCUS + ';outline-offset:2px}');
      document.adoptedStyleSheets = document.adoptedStyleSheets.concat([sheet]);
    } catch (err) { /* older browsers: defaults */ }
  }

  function create(config) {
    config = config || {};
    var number = ++handlers;
    var session = null, failure = null, dialog = null, returnFocus = null;
    var destroyed = false, closing = false;

    function call(name) {
      var args = Array.prototype.slice.call(arguments, 1);
      if (typeof config[name] === 'function') { config[name].apply(null, args); }
    }
    function event(name, extra) {
      call('onEvent', name, Object.assign({
        link_session_id: session ? session.link_session_id : null, request_id: null,
        institution_id: session ? session.institution.institution_id : null,
        institution_name: session ? session.institution.name : null,
        timestamp: new Date().toISOString(), view_name: 'SELECT_ACCOUNT'}, extra || {}));
    }
    var loaded = post('/_link/session', {link_token: config.token}).then(function (answer) {
      if (answer.ok) { session = answer.data; } else { failure = answer.data; }
      if (!destroyed) { call('onLoad'); }
    });

    function close() {
      if (dialog) {
        closing = true;
        if (dialog.open) { dialog.close(); }
        dialog.remove();
        dialog = null;
        closing = false;
      }
      if (returnFocus && typeof returnFocus.focus === 'function') { returnFocus.focus(); }
      returnFocus = null;
    }

    function exit(error, status, requestId) {
      close();
      if (error) { event('ERROR', {error_code: error.error_code, error_type: error.error_type,
                                   error_message: error.error_message}); }
      event('EXIT', {exit_status: status});
      call('onExit', error, {
        institution: session ? session.institution : null, status: status,
        link_session_id: session ? session.link_session_id : null, request_id: requestId || null
      });
    }

    function render() {
      var prefix = 'plaid-local-' + number;
      var box = node('dialog', {
        width: 'min(420px, calc(100vw - 32px))', boxSizing: 'border-box', padding: '24px',
        border: '0', borderRadius: '12px', background: '#ffffff', color: INK,
        font: '16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif',
        boxShadow: '0 12px 40px rgba(0,0,0,0.35)'
      }, {'class': 'plaid-local', role: 'dialog', 'aria-modal': 'true', lang: 'en',
          'aria-labelledby': prefix + '-title', 'aria-describedby': prefix + '-intro'});
      box.appendChild(node('p', {margin: '0 0 4px', fontSize: '13px', fontWeight: '600',
                                 letterSpacing: '0.04em', textTransform: 'uppercase',
                                 color: MUTED}, {text: 'Plaid · local sandbox'}));
      box.appendChild(node('h2', {margin: '0 0 8px', fontSize: '22px', lineHeight: '1.3'},
                           {id: prefix + '-title', text: 'Connect your bank'}));
      box.appendChild(node('p', {margin: '0 0 16px', color: MUTED},
                           {id: prefix + '-intro', text: 'Choose the account at ' +
                            session.institution.name + ' to use for payments.'}));
      var form = node('form', {margin: '0'}, {novalidate: 'novalidate'});
      var group = node('fieldset', {border: '0', margin: '0', padding: '0'});
      group.appendChild(node('legend', {padding: '0', marginBottom: '8px', fontWeight: '600'},
                             {text: session.institution.name}));
      var labels = [];
      session.accounts.forEach(function (account, index) {
        var label = node('label', {position: 'relative', display: 'flex',
                                   alignItems: 'center', gap: '12px',
                                   minHeight: '44px', boxSizing: 'border-box',
                                   padding: '10px 12px', marginBottom: '8px',
                                   border: '1px solid ' + LINE, borderRadius: '8px',
                                   cursor: 'pointer'});
        var input = node('input', {width: '20px', height: '20px', margin: '0',
                                   accentColor: INK, flex: 'none'},
                         {type: 'radio', name: prefix + '-account', value: String(account.key),
                          id: prefix + '-account-' + index});
        var text = node('span', {display: 'flex', flexDirection: 'column'});
        text.appendChild(node('span', {fontWeight: '600'}, {text: account.name}));
        // Shown "Checking •••• 6789", read "Checking ending in 6789".
        var detail = node('span', {color: MUTED, fontSize: '14px'}, {
          text: account.subtype ? account.subtype.charAt(0).toUpperCase() +
                account.subtype.slice(1) + ' ' : ''});
        if (account.mask) {
          detail.appendChild(node('span', {}, {'aria-hidden': 'true',
                                               text: '\u2022\u2022\u2022\u2022 '}));
          detail.appendChild(node('span', VISUALLY_HIDDEN, {text: 'ending in '}));
          detail.appendChild(document.createTextNode(account.mask));
        }
        text.appendChild(detail);
        label.appendChild(input);
        label.appendChild(text);
        labels.push(label);
        group.appendChild(label);
      });
      group.addEventListener('change', function () {
        labels.forEach(function (label) {
          var checked = label.querySelector('input').checked;
          label.style.borderColor = checked ? INK : LINE;
          label.style.boxShadow = checked ? 'inset 0 0 0 1px ' + INK : 'none';
          label.style.background = checked ? '#f2f2f2' : '#ffffff';
        });
        message.textContent = '';
      });
      form.appendChild(group);
      var message = node('p', {margin: '4px 0 8px', minHeight: '1.5em', color: ERROR,
                               fontWeight: '600'}, {role: 'alert'});
      form.appendChild(message);
      var buttonStyle = {display: 'block', width: '100%', minHeight: '44px', marginTop: '8px',
                         borderRadius: '8px', font: 'inherit', fontWeight: '600',
                         cursor: 'pointer', border: '2px solid ' + INK};
      var proceed = node('button', Object.assign({background: INK, color: '#ffffff'}, buttonStyle),
                         {type: 'submit', text: 'Continue'});
      var cancel = node('button', Object.assign({background: '#ffffff', color: INK}, buttonStyle),
                        {type: 'button', text: 'Cancel'});
      form.appendChild(proceed);
      form.appendChild(cancel);
      box.appendChild(form);
      box.appendChild(node('p', {margin: '16px 0 0', fontSize: '13px', color: MUTED},
                           {text: 'A stand-in for Plaid Link: no bank is contacted.'}));

      cancel.addEventListener('click', function () { exit(null, 'requires_account_selection'); });
      box.addEventListener('cancel', function (e) {  // Escape
        e.preventDefault();
        exit(null, 'requires_account_selection');
      });
      box.addEventListener('close', function () {  // closed by the browser itself
        if (!closing && dialog === box) { exit(null, 'requires_account_selection'); }
      });
      form.addEventListener('submit', function (e) {
        e.preventDefault();
        var picked = form.querySelector('input:checked');
        if (!picked) {
          message.textContent = 'Choose an account to continue.';
          form.querySelector('input').focus();
          return;
        }
        proceed.disabled = true;
        proceed.textContent = 'Connecting\u2026';
        box.setAttribute('aria-busy', 'true');
        post('/_link/public_token', {link_token: config.token, account: Number(picked.value),
                                     link_session_id: session.link_session_id})
          .then(function (answer) {
            if (destroyed) { return; }
            if (!answer.ok) { exit(plaidError(answer.data), null, answer.data.request_id); return; }
            close();
            event('HANDOFF');
            call('onSuccess', answer.data.public_token, answer.data.metadata);
          });
      });
      return box;
    }

    function show() {
      if (destroyed || dialog) { return; }
      if (failure) { exit(plaidError(failure), null, failure.request_id); return; }
      adoptStyles();
      returnFocus = document.activeElement;
      dialog = render();
      document.body.appendChild(dialog);
      dialog.showModal();
      dialog.querySelector('input').focus();
      event('OPEN');
    }

    return {
      open: function () { loaded.then(show); },
      exit: function () {
        loaded.then(function () { if (dialog) { exit(null, 'requires_account_selection'); } });
      },
      destroy: function () { destroyed = true; close(); },
      submit: function () {}
    };
  }

  window.Plaid = {create: create, localStandIn: true};
})();
