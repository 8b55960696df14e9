// The article page's script. Everything works without it; it adds:
// - form tickets for both forms (feedback and comments), fetched when the
//   reader starts writing, so the app can tell a person's pace from a
//   script's; without one a comment is held for moderation, never refused;
// - an idempotency key per page load, so a double-click stores one comment;
// - the name, e-mail and website the app remembered (only when the reader
//   ticked "Save my name..."), filled in;
// - Reply links move the comment form under the comment instead of leaving
//   the page;
// - a code block wider than the column takes the keyboard's focus, so that
//   it can be scrolled without a mouse.
(function () {
  "use strict";
  Array.prototype.forEach.call(document.querySelectorAll(".post-content pre"), function (pre) {
    if (pre.scrollWidth > pre.clientWidth) {
      pre.tabIndex = 0;
    }
  });
  Array.prototype.forEach.call(document.querySelectorAll("form[data-ticket-url]"), function (form) {
    var field = form.elements.ticket;
    var readyAt = 0;  // when the ticket is old enough to send (Date.now())
    var asked = null;
    function askTicket() {
      if (!asked) {
        asked = fetch(form.dataset.ticketUrl, {
          credentials: "same-origin",
          headers: { Accept: "application/json" }
        }).then(function (response) {
          return response.ok ? response.json() : {};
        }).then(function (data) {
          if (data.ticket && !field.value) {
            field.value = data.ticket;
            readyAt = Date.now() + 1000 * (data.wait || 0) + 250;
          }
        }).catch(function () { /* offline: the post is held, not lost */ });
      }
      return asked;
    }
    form.addEventListener("focusin", askTicket);
    window.addEventListener("pageshow", function () { delete form.dataset.sending; });
    // Sent very quickly (a paste, a short "Thanks!"): hold it until the
    // ticket is old enough, a few seconds at most, then send it. Without a
    // ticket after 5 s, send it anyway: it is held for moderation.
    form.addEventListener("submit", function (event) {
      if (field.value && Date.now() >= readyAt) return;
      event.preventDefault();
      if (form.dataset.sending) return;  // a second click while it waits
      form.dataset.sending = "1";
      var send = function () {
        setTimeout(function () { form.submit(); }, Math.max(0, readyAt - Date.now()));
      };
      Promise.race([askTicket(), new Promise(function (resolve) {
        setTimeout(resolve, 5000);
      })]).then(send, send);
    });
  });
})();

(function () {
  "use strict";
  var form = document.querySelector("form[data-comment-form]");
  if (!form) return;
  var section = document.getElementById("respond");
  var home = section.parentNode;
  var next = section.nextSibling;
  var title = document.getElementById("respond-title");
  var originalTitle = title.textContent;
  var cancel = form.querySelector("[data-cancel-reply]");

  // A version 4 UUID. crypto.randomUUID needs a secure context (HTTPS or
  // localhost); getRandomValues works everywhere.
  function newKey() {
    if (!(window.crypto && crypto.getRandomValues)) return;
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(b, function (x) {
      return (x + 0x100).toString(16).slice(1);
    }).join("");
    form.elements.submission_key.value = [hex.slice(0, 8), hex.slice(8, 12),
      hex.slice(12, 16), hex.slice(16, 20), hex.slice(20)].join("-");
  }
  newKey();
  // Back from the posted page, the browser restores this page as it was:
  // a new comment written now is a new submission.
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) newKey();
  });

  var saved = document.cookie.split("; ").filter(function (c) {
    return c.indexOf("comment_author=") === 0;
  })[0];
  if (saved) {
    try {
      var who = JSON.parse(decodeURIComponent(saved.slice("comment_author=".length)));
      ["name", "email", "website"].forEach(function (field) {
        if (who[field] && !form.elements[field].value) form.elements[field].value = who[field];
      });
      form.elements.remember.checked = true;
    } catch (e) { /* an unreadable cookie: leave the form empty */ }
  }

  function replyTo(link) {
    var comment = document.getElementById("comment-" + link.dataset.replyTo);
    comment.querySelector("article").after(section);
    form.elements.parent.value = link.dataset.replyTo;
    title.textContent = "Reply to " + link.dataset.replyName;
    cancel.hidden = false;
    form.elements.body.focus();
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest("a[data-reply-to]");
    if (link) {
      event.preventDefault();
      replyTo(link);
    } else if (event.target === cancel) {
      event.preventDefault();
      home.insertBefore(section, next);
      form.elements.parent.value = "";
      title.textContent = originalTitle;
      cancel.hidden = true;
      form.elements.body.focus();
    }
  });
})();
