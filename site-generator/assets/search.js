// Full-text search of the site's pages in the page's language, on Pagefind's JS API.
//
// The page works as a plain GET form (?q=…&district=…&type=…&section=…). This script loads
// Pagefind's `pagefind.js` from the index folder the form names (data-bundle), which fetches
// the index of the page's <html lang> and segments a Chinese query into words with the
// browser's Intl.Segmenter, as the index was segmented. Results are built with textContent
// and createElement only: the excerpt's <mark> tags are the only markup taken from the index,
// as <mark> elements, everything else as text.
(function () {
    'use strict';
    var form = document.getElementById('search-form');
    if (!form) return;
    var input = document.getElementById('search-q');
    var status = document.getElementById('search-status');
    var list = document.getElementById('search-results');
    var more = document.getElementById('search-more');
    var fieldset = document.getElementById('search-filters');
    var language = document.getElementById('search-lang');
    var selects = Array.prototype.slice.call(form.querySelectorAll('select[data-filter]'));
    var PAGE = 20;
    var pagefind = null;
    var state = { results: [], shown: 0, q: '', token: 0 };

    function say(template, vars) {
        status.textContent = template.replace(/\{(\w+)\}/g, function (m, k) {
            return Object.prototype.hasOwnProperty.call(vars, k) ? String(vars[k]) : m;
        });
    }

    function number(n) {
        return n.toLocaleString(document.documentElement.lang);
    }

    var ENTITIES = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
    function decode(text) {
        return text.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, function (m, e) {
            if (e[0] === '#') {
                var code = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
                return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : m;
            }
            return Object.prototype.hasOwnProperty.call(ENTITIES, e.toLowerCase()) ? ENTITIES[e.toLowerCase()] : m;
        });
    }

    // Pagefind's excerpt: the page's text, HTML-escaped, with the matched words in <mark>.
    function excerpt(into, html) {
        var parts = String(html || '').split(/<mark>|<\/mark>/);
        parts.forEach(function (part, i) {
            var text = decode(part.replace(/<[^>]*>/g, ''));
            if (!text) return;
            if (i % 2 === 1) {
                var mark = document.createElement('mark');
                mark.textContent = text;
                into.appendChild(mark);
            } else {
                into.appendChild(document.createTextNode(text));
            }
        });
    }

    function load() {
        if (!pagefind) {
            pagefind = import(form.getAttribute('data-bundle') + 'pagefind.js').then(function (pf) {
                // In the page's own thread: Pagefind's web worker at times did not answer
                // its first message in headless Chromium (5 s until Pagefind falls back),
                // and an index of this size is searched in milliseconds either way.
                return pf.options({ excerptLength: 24, noWorker: true }).then(function () {
                    return pf.init();
                }).then(function () {
                    return pf;
                });
            });
        }
        return pagefind;
    }

    function chosenFilters() {
        var filters = {};
        selects.forEach(function (s) {
            if (s.value) filters[s.getAttribute('data-filter')] = s.value;
        });
        return filters;
    }

    function fillFilters(pf, wanted) {
        return pf.filters().then(function (available) {
            var collator = new Intl.Collator(document.documentElement.lang);
            selects.forEach(function (s) {
                var name = s.getAttribute('data-filter');
                var values = Object.keys(available[name] || {}).sort(collator.compare);
                values.forEach(function (v) {
                    var o = document.createElement('option');
                    o.value = v;
                    o.textContent = v;
                    s.appendChild(o);
                });
                if (wanted[name] && values.indexOf(wanted[name]) >= 0) s.value = wanted[name];
            });
            fieldset.hidden = false;
        });
    }

    function showMore() {
        var token = state.token;
        var slice = state.results.slice(state.shown, state.shown + PAGE);
        return Promise.all(slice.map(function (r) { return r.data(); })).then(function (pages) {
            if (token !== state.token) return;
            pages.forEach(function (data) {
                var li = document.createElement('li');
                var h = document.createElement('h2');
                var a = document.createElement('a');
                a.href = data.url;
                a.textContent = (data.meta && data.meta.title) || data.url;
                h.appendChild(a);
                li.appendChild(h);
                var p = document.createElement('p');
                p.className = 'search-excerpt';
                excerpt(p, data.excerpt);
                li.appendChild(p);
                list.appendChild(li);
            });
            state.shown += pages.length;
            more.hidden = state.shown >= state.results.length;
            say(status.getAttribute('data-count'), {
                q: state.q,
                n: number(state.results.length),
                shown: number(state.shown),
            });
        });
    }

    function run(q) {
        var token = ++state.token;
        list.textContent = '';
        more.hidden = true;
        state.q = q;
        if (!q.trim()) {
            say(status.getAttribute('data-empty'), {});
            return Promise.resolve();
        }
        say(status.getAttribute('data-loading'), {});
        return load().then(function (pf) {
            return pf.search(q, { filters: chosenFilters() });
        }).then(function (search) {
            if (token !== state.token) return;
            state.results = search.results;
            state.shown = 0;
            if (state.results.length === 0) {
                say(status.getAttribute('data-none'), { q: q });
                return;
            }
            return showMore();
        }, function () {
            if (token === state.token) say(status.getAttribute('data-failed'), {});
        });
    }

    function address() {
        var params = new URLSearchParams();
        params.set('q', input.value);
        var filters = chosenFilters();
        Object.keys(filters).forEach(function (k) { params.set(k, filters[k]); });
        return form.getAttribute('action') + '?' + params.toString();
    }

    form.addEventListener('submit', function (e) {
        e.preventDefault();
        history.replaceState(null, '', address());
        run(input.value);
    });
    selects.forEach(function (s) {
        s.addEventListener('change', function () {
            history.replaceState(null, '', address());
            run(input.value);
        });
    });
    language.addEventListener('change', function () {
        var params = new URLSearchParams();
        params.set('q', input.value);
        window.location.assign(language.value + '?' + params.toString());
    });
    more.addEventListener('click', function () {
        var first = state.shown;
        showMore().then(function () {
            var next = list.children[first];
            var link = next && next.querySelector('a');
            if (link) link.focus();
        });
    });

    var params = new URLSearchParams(window.location.search);
    var wanted = {};
    selects.forEach(function (s) {
        var v = params.get(s.getAttribute('data-filter'));
        if (v) wanted[s.getAttribute('data-filter')] = v;
    });
    var initial = params.get('q') || '';
    input.value = initial;
    load().then(function (pf) {
        return fillFilters(pf, wanted);
    }).then(function () {
        // The address's query, unless a search was already started by hand meanwhile.
        if (initial && state.token === 0) return run(initial);
    }, function () {
        say(status.getAttribute('data-failed'), {});
    });
})();
