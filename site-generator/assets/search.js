// envgov: search of the key polluting units (progressive enhancement of /{lang}/search/).
//
// Loads the language's index (one entry per unit: u = page, n = name, a = name in the other
// language, c = credit code, p = permit number, d = district, i = industry) and matches
// substrings after NFKC normalisation, case folding and removal of white space, so that a
// fragment of a Chinese name, an English word or a full or partial code all match.
// Results are built with textContent only: no data ever becomes markup.
(function () {
  "use strict";
  var LIMIT = 100;
  var input = document.getElementById("search-q");
  var status = document.getElementById("search-status");
  var list = document.getElementById("search-results");
  if (!input || !status || !list) {
    return;
  }
  var form = input.form;

  function norm(s) {
    return String(s || "")
      .normalize("NFKC")
      .toLowerCase()
      .replace(/[\s\u3000]+/g, "");
  }

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (m, k) {
      return Object.prototype.hasOwnProperty.call(values, k) ? String(values[k]) : m;
    });
  }

  var units = null;

  function rank(entry, q) {
    if (entry.kc === q || entry.kp === q) {
      return 0;
    }
    if (entry.kn.indexOf(q) === 0 || entry.ka.indexOf(q) === 0) {
      return 1;
    }
    if (entry.kn.indexOf(q) >= 0 || entry.ka.indexOf(q) >= 0) {
      return 2;
    }
    if (entry.kc.indexOf(q) >= 0 || entry.kp.indexOf(q) >= 0) {
      return 3;
    }
    return -1;
  }

  function show(raw) {
    var q = norm(raw);
    list.textContent = "";
    if (!q) {
      status.textContent = "";
      return;
    }
    var hits = [];
    for (var i = 0; i < units.length; i++) {
      var r = rank(units[i], q);
      if (r >= 0) {
        hits.push([r, i]);
      }
    }
    hits.sort(function (x, y) {
      return x[0] - y[0] || x[1] - y[1];
    });
    var shown = Math.min(hits.length, LIMIT);
    for (var j = 0; j < shown; j++) {
      var e = units[hits[j][1]];
      var li = document.createElement("li");
      var a = document.createElement("a");
      a.href = e.u;
      a.textContent = e.n;
      li.appendChild(a);
      var meta = document.createElement("span");
      meta.className = "search-meta";
      meta.textContent = [e.c, e.d, e.i].join(" · ");
      li.appendChild(document.createTextNode(" "));
      li.appendChild(meta);
      list.appendChild(li);
    }
    if (hits.length === 0) {
      status.textContent = status.dataset.none;
    } else if (hits.length > shown) {
      status.textContent = fill(status.dataset.more, { n: hits.length, shown: shown });
    } else {
      status.textContent = fill(status.dataset.count, { n: hits.length });
    }
  }

  var initial = new URLSearchParams(window.location.search).get("q") || "";
  input.value = initial;

  fetch(status.dataset.index, { credentials: "same-origin" })
    .then(function (response) {
      if (!response.ok) {
        throw new Error("HTTP " + response.status);
      }
      return response.json();
    })
    .then(function (index) {
      units = index.units.map(function (e) {
        e.kn = norm(e.n);
        e.ka = norm(e.a);
        e.kc = norm(e.c);
        e.kp = norm(e.p);
        return e;
      });
      show(input.value);
      var timer = null;
      input.addEventListener("input", function () {
        clearTimeout(timer);
        timer = setTimeout(function () {
          show(input.value);
        }, 120);
      });
      if (form) {
        form.addEventListener("submit", function (event) {
          event.preventDefault();
          var url = new URL(window.location.href);
          url.searchParams.set("q", input.value);
          window.history.replaceState(null, "", url);
          show(input.value);
        });
      }
    })
    .catch(function () {
      status.textContent = status.dataset.failed;
    });
})();
