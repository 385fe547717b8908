/* MIV service worker {{ version }}: the registration page opens without a connection.
 *
 * Scope: {{ page }} only. Cached: that page (the empty form) and the static files it
 * uses. Never cached: anything else (lists and detail pages hold incident text), POSTs,
 * API answers, and a page that redirected (to the login). Registrations made offline wait in
 * the page's IndexedDB queue (offline-queue.js), not here.
 *
 * The page: network first (fresh CSRF token, locations, types), the cached copy when the
 * network fails or takes longer than a few seconds. Static files: from the cache, refreshed
 * in the background. A new deployment changes this file's version, which replaces the cache.
 */
"use strict";

var CACHE = "miv-register-{{ version }}";
var PAGE = {{ page_json|safe }};
var ASSETS = {{ assets_json|safe }};
var PAGE_TIMEOUT_MS = 4000;

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(CACHE).then(function (cache) {
      return Promise.all(ASSETS.map(function (url) {
        return cache.add(url).catch(function () { /* one missing file must not stop the rest */ });
      })).then(function () {
        return fetch(PAGE, { credentials: "same-origin" }).then(function (response) {
          if (cacheable(response)) return cache.put(PAGE, response);
          return null;
        }).catch(function () { return null; });
      });
    }).then(function () { return self.skipWaiting(); })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (names) {
      return Promise.all(names.filter(function (name) {
        return name.indexOf("miv-register-") === 0 && name !== CACHE;
      }).map(function (name) { return caches.delete(name); }));
    }).then(function () { return self.clients.claim(); })
  );
});

function cacheable(response) {
  return response && response.ok && !response.redirected && response.type === "basic";
}

function pageFromNetwork(request) {
  return new Promise(function (resolve, reject) {
    var timer = setTimeout(function () { reject(new Error("slow")); }, PAGE_TIMEOUT_MS);
    fetch(request).then(function (response) {
      clearTimeout(timer);
      resolve(response);
    }, function (error) {
      clearTimeout(timer);
      reject(error);
    });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;

  if (request.mode === "navigate" && url.pathname === PAGE) {
    event.respondWith(
      pageFromNetwork(request).then(function (response) {
        // Only the empty form (no query) is kept: a search in the URL is not.
        if (cacheable(response) && !url.search) {
          var copy = response.clone();
          caches.open(CACHE).then(function (cache) { cache.put(PAGE, copy); });
        }
        return response;
      }).catch(function () {
        return caches.match(PAGE).then(function (cached) {
          return cached || Response.error();
        });
      })
    );
    return;
  }

  if (ASSETS.indexOf(url.pathname) !== -1) {
    event.respondWith(
      caches.open(CACHE).then(function (cache) {
        return cache.match(url.pathname).then(function (cached) {
          var fresh = fetch(request).then(function (response) {
            if (cacheable(response)) cache.put(url.pathname, response.clone());
            return response;
          });
          if (cached) {
            fresh.catch(function () { return null; });
            return cached;
          }
          return fresh;
        });
      })
    );
  }
});
