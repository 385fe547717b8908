/* Registering without a connection: the registration page's offline queue.
 *
 * With JavaScript, a registration goes into a queue on this device (IndexedDB) first, with
 * its own Idempotency-Key, and is then POSTed to the JSON API (/api/v1/incidents/). When
 * that works, it leaves the device at once and the confirmation page opens. Without a
 * connection it waits; the page says how many wait, and they are sent when the connection
 * returns (the "online" event, the next visit, or a retry every 30 seconds). A retry sends
 * the same key, so a registration whose answer got lost is never registered twice: the API
 * replays its first answer (incidents/idempotency.py).
 *
 * Session and CSRF: before sending, the page asks /incidents/register/session/ who is
 * logged in and for a fresh CSRF token (a page from the service worker's cache may carry an
 * old one). A lapsed session (401) keeps everything and asks to log in again; items of
 * another user on the same device are left for that user. The API refusing an item (400)
 * keeps it, marked, with the reason and a way back into the form; for the registration just
 * made while online, the form is sent the classic way instead, so the server shows its
 * messages at the fields.
 *
 * The service worker (sw.js, scope /incidents/register/) caches this page and its static
 * files, so the page also opens without a connection after one visit.
 */
(function () {
  "use strict";

  var DB_NAME = "miv-offline";
  var STORE = "registrations";
  var RETRY_MS = 30000;
  var TIMEOUT_MS = 20000;
  var FIELDS = [
    "incident_type", "location", "occurred_on", "occurred_at", "place", "victim_role",
    "perpetrator_role", "injury", "police_involved", "description", "measures"
  ];
  var REQUIRED = ["incident_type", "location", "occurred_on", "victim_role", "perpetrator_role", "injury"];

  var panel, form, statusLine, itemsList, sending = false, retryTimer = null, loginNeeded = false;

  // --- IndexedDB --------------------------------------------------------------------------
  function openDb() {
    return new Promise(function (resolve, reject) {
      var request = indexedDB.open(DB_NAME, 1);
      request.onupgradeneeded = function () {
        request.result.createObjectStore(STORE, { keyPath: "key" });
      };
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
  }

  function tx(mode, work) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var t = db.transaction(STORE, mode);
        var result = work(t.objectStore(STORE));
        t.oncomplete = function () { db.close(); resolve(result && result.result); };
        t.onerror = function () { db.close(); reject(t.error); };
        t.onabort = function () { db.close(); reject(t.error); };
      });
    });
  }

  function allItems() {
    return tx("readonly", function (store) { return store.getAll(); }).then(function (items) {
      return (items || []).sort(function (a, b) { return a.created - b.created; });
    });
  }
  function putItem(item) { return tx("readwrite", function (store) { store.put(item); }); }
  function deleteItem(key) { return tx("readwrite", function (store) { store.delete(key); }); }

  function newKey() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  // --- The form ---------------------------------------------------------------------------
  function message(name, values) {
    var text = panel.getAttribute("data-msg-" + name) || "";
    Object.keys(values || {}).forEach(function (key) { text = text.replace("{" + key + "}", values[key]); });
    return text;
  }

  function say(text, focus) {
    statusLine.textContent = text;
    if (focus && text) statusLine.focus();
  }

  function fieldValue(data, name) {
    var value = data.get(name);
    return value === null ? "" : String(value);
  }

  function readForm() {
    var data = new FormData(form);
    var item = {};
    FIELDS.forEach(function (name) { item[name] = fieldValue(data, name); });
    item.police_involved = data.get("police_involved") !== null;
    item.location = item.location ? Number(item.location) : null;
    item.occurred_at = item.occurred_at || null;
    return item;
  }

  function labelOf(name) {
    var control = form.querySelector("[name='" + name + "']");
    if (name === "incident_type") control = form.querySelector("[role=combobox]");
    if (!control) return name;
    var group = control.closest("fieldset");
    if (control.type === "radio" && group) return group.querySelector("legend").textContent.trim();
    var label = form.querySelector("label[for='" + control.id + "']");
    return label ? label.textContent.trim() : name;
  }

  function missing(item) {
    return REQUIRED.filter(function (name) { return item[name] === "" || item[name] === null; });
  }

  function summary(item) {
    var option = form.querySelector("[role=option][data-value='" + item.incident_type + "']");
    var location = form.querySelector("select[name=location] option[value='" + item.location + "']");
    return [
      option ? option.textContent : item.incident_type,
      item.occurred_on,
      location ? location.textContent : ""
    ].filter(Boolean).join(" · ");
  }

  function resetForm() {
    var location = form.querySelector("select[name=location]");
    var keep = location ? location.value : null;
    form.reset();
    if (location && keep) location.value = keep;  // the next one is usually at the same place
    var details = form.querySelector("details");
    if (details) details.open = false;
  }

  function fill(item) {
    resetForm();
    FIELDS.forEach(function (name) {
      var value = item[name];
      if (name === "incident_type") {
        var root = form.querySelector("[data-combobox]");
        var option = form.querySelector("[role=option][data-value='" + value + "']");
        if (root && root.combobox && option) root.combobox.choose(option);
        return;
      }
      var controls = form.querySelectorAll("[name='" + name + "']");
      Array.prototype.forEach.call(controls, function (control) {
        if (control.type === "radio") control.checked = control.value === value;
        else if (control.type === "checkbox") control.checked = Boolean(value);
        else control.value = value === null ? "" : value;
      });
    });
    var details = form.querySelector("details");
    if (details && (item.description || item.measures || item.police_involved)) details.open = true;
  }

  // Today's date, as the page would have filled it in: a page from the cache was made earlier.
  function refreshToday() {
    var input = form.querySelector("input[name=occurred_on]");
    if (!input || !input.max) return;
    var now = new Date();
    var today = [now.getFullYear(), ("0" + (now.getMonth() + 1)).slice(-2), ("0" + now.getDate()).slice(-2)].join("-");
    if (input.max < today) {
      if (input.value === input.max) {
        input.value = today;
        input.defaultValue = today;
      }
      input.max = today;
    }
  }

  // --- Sending ----------------------------------------------------------------------------
  function fetchWithTimeout(url, options) {
    var controller = new AbortController();
    var timer = window.setTimeout(function () { controller.abort(); }, TIMEOUT_MS);
    options.signal = controller.signal;
    options.credentials = "same-origin";
    return fetch(url, options).finally(function () { window.clearTimeout(timer); });
  }

  function session() {
    return fetchWithTimeout(panel.getAttribute("data-session"), {
      headers: { Accept: "application/json" }, cache: "no-store"
    }).then(function (response) {
      if (response.status === 401 || response.status === 403) return { lapsed: true };
      if (!response.ok) throw new Error("session " + response.status);
      return response.json();
    });
  }

  function reasons(body) {
    // Field errors ({field: [messages]}) or a problem document ({detail, errors/invalid_params}).
    var parts = [];
    function walk(value, prefix) {
      if (typeof value === "string") parts.push(prefix ? prefix + ": " + value : value);
      else if (Array.isArray(value)) value.forEach(function (v) { walk(v, prefix); });
      else if (value && typeof value === "object") {
        if (value.detail || value.reason || value.message) {
          walk(value.detail || value.reason || value.message, value.name || value.field || value.pointer || prefix);
          return;
        }
        Object.keys(value).forEach(function (key) {
          if (["type", "title", "status", "instance", "code"].indexOf(key) === -1) walk(value[key], key);
        });
      }
    }
    walk(body, "");
    return parts.join("; ");
  }

  function send(item, csrf) {
    return fetchWithTimeout(panel.getAttribute("data-api"), {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json",
        "Accept-Language": document.documentElement.lang || "nl",
        "X-CSRFToken": csrf,
        "Idempotency-Key": item.key
      },
      body: JSON.stringify(item.data)
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        return { status: response.status, body: body };
      });
    });
  }

  function flush(justMade) {
    if (sending) return Promise.resolve();
    sending = true;
    var sent = [];
    return allItems().then(function (items) {
      if (!items.length) return null;
      return session().then(function (who) {
        if (who.lapsed) {
          say(message("login"), true);
          showLogin(true);
          return null;
        }
        showLogin(false);
        var mine = items.filter(function (i) { return i.user === who.user && !i.error; });
        if (items.some(function (i) { return i.user !== who.user; })) say(message("other-user"));
        var chain = Promise.resolve(true);
        mine.forEach(function (item) {
          chain = chain.then(function (goOn) {
            if (!goOn) return false;
            return send(item, who.csrf).then(function (answer) {
              if (answer.status === 201 || answer.status === 200) {
                return deleteItem(item.key).then(function () {
                  sent.push(answer.body);
                  if (justMade === item.key && answer.body && answer.body.id) {
                    window.location.assign(panel.getAttribute("data-registered").replace("/0/", "/" + answer.body.id + "/"));
                  }
                  return true;
                });
              }
              if (answer.status === 401 || answer.status === 403) {
                say(message("login"), true);
                showLogin(true);
                return false;
              }
              if (answer.status === 400 || answer.status === 409 || answer.status === 422) {
                if (justMade === item.key) {
                  // Let the server show its messages at the fields: the classic form post.
                  return deleteItem(item.key).then(function () {
                    HTMLFormElement.prototype.submit.call(form);
                    return false;
                  });
                }
                item.error = reasons(answer.body) || String(answer.status);
                return putItem(item).then(function () { return true; });
              }
              return false;  // the server is in trouble: try again later
            });
          });
        });
        return chain;
      });
    }).catch(function () {
      return null;  // no connection (or it broke off): everything stays queued
    }).then(function () {
      sending = false;
      if (sent.length) {
        say(message("sent", { refs: sent.map(function (b) { return b.reference || ("#" + b.id); }).join(", ") }), true);
      }
      return render();
    });
  }

  function showLogin(show) {
    loginNeeded = show;
    var link = panel.querySelector(".queue-login");
    if (show && !link) {
      link = document.createElement("a");
      link.className = "queue-login button";
      link.href = panel.getAttribute("data-login");
      link.textContent = panel.getAttribute("data-msg-login");
      panel.querySelector(".actions").appendChild(link);
    } else if (!show && link) {
      link.remove();
    }
  }

  // --- What the page shows ----------------------------------------------------------------
  function render() {
    return allItems().then(function (items) {
      var user = panel.getAttribute("data-user");
      itemsList.textContent = "";
      items.forEach(function (item) {
        var li = document.createElement("li");
        li.textContent = item.summary + (item.user !== user ? " (" + item.user + ")" : "");
        if (item.error && item.user === user) {
          li.className = "failed";
          var why = document.createElement("p");
          why.textContent = panel.getAttribute("data-msg-refused") + " " + item.error;
          li.appendChild(why);
          var actions = document.createElement("div");
          actions.className = "actions";
          actions.appendChild(button(panel.getAttribute("data-label-edit"), function () {
            fill(item.data);
            deleteItem(item.key).then(render);
            form.scrollIntoView();
          }));
          actions.appendChild(button(panel.getAttribute("data-label-delete"), function () {
            deleteItem(item.key).then(render);
          }));
          li.appendChild(actions);
        }
        itemsList.appendChild(li);
      });
      var waiting = items.filter(function (i) { return !i.error; }).length;
      panel.hidden = items.length === 0;
      var count = panel.querySelector(".queue-count");
      if (!count) {
        count = document.createElement("p");
        count.className = "queue-count";
        panel.insertBefore(count, itemsList);
      }
      count.textContent = waiting === 0 ? "" : waiting === 1 ? message("waiting-one") : message("waiting-many", { n: String(waiting) });
      panel.setAttribute("data-waiting", String(waiting));
      scheduleRetry(waiting > 0);
    }).catch(function () { /* no IndexedDB (private mode): nothing to show */ });
  }

  function button(text, onClick) {
    var b = document.createElement("button");
    b.type = "button";
    b.className = "button secondary";
    b.textContent = text;
    b.addEventListener("click", onClick);
    return b;
  }

  function scheduleRetry(needed) {
    if (retryTimer) window.clearTimeout(retryTimer);
    retryTimer = null;
    if (needed) {
      retryTimer = window.setTimeout(function () {
        if (navigator.onLine) flush(); else scheduleRetry(true);
      }, RETRY_MS);
    }
  }

  // --- Submitting -------------------------------------------------------------------------
  function onSubmit(event) {
    if (!window.indexedDB) return;  // the classic form post
    var data = readForm();
    var absent = missing(data);
    if (absent.length) {
      if (navigator.onLine) return;  // the server shows its messages at the fields
      event.preventDefault();
      say(message("missing") + " " + absent.map(labelOf).join(", "), true);
      return;
    }
    event.preventDefault();
    var item = {
      key: newKey(),
      user: panel.getAttribute("data-user"),
      created: Date.now(),
      data: data,
      summary: summary(data),
      error: null
    };
    putItem(item).then(function () {
      if (!navigator.onLine) return null;
      return flush(item.key);
    }).then(function () {
      return allItems();
    }).then(function (items) {
      var still = items.some(function (i) { return i.key === item.key; });
      if (still) {
        resetForm();
        say(message(loginNeeded ? "login" : "saved"), true);
      }
      return render();
    }).catch(function () {
      HTMLFormElement.prototype.submit.call(form);  // IndexedDB failed: send it the classic way
    });
  }

  function registerWorker() {
    if (!("serviceWorker" in navigator)) return;
    navigator.serviceWorker.register(panel.getAttribute("data-worker"), {
      scope: panel.getAttribute("data-scope")
    }).catch(function () { /* e.g. not a secure context: the page still works online */ });
  }

  function start() {
    panel = document.getElementById("offline-queue");
    form = document.querySelector("form[data-offline-form]");
    statusLine = document.getElementById("queue-status");
    if (!panel || !form || !window.indexedDB || !window.fetch || !window.Promise) return;
    itemsList = document.getElementById("queue-items");
    refreshToday();
    form.addEventListener("submit", onSubmit);
    document.getElementById("queue-send").addEventListener("click", function () { flush(); });
    window.addEventListener("online", function () { flush(); });
    registerWorker();
    render().then(function () { if (navigator.onLine) flush(); });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
