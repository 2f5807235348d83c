// Articles beside the create form that follow the summary as it is typed (JSM's "deflection"). The page
// draws the aside (#suggestions) with articles for the request type; after a pause in typing, this asks
// Deskgate's JSON endpoint for articles matching the summary and shows them instead. Everything is built
// with textContent (never markup from an answer). Without JavaScript the form works the same, without
// the live suggestions.
(function () {
  "use strict";
  var aside = document.getElementById("suggestions");
  var field = document.getElementById("field-summary");
  if (!aside || !field || !window.fetch || !window.URLSearchParams) {
    return;
  }
  var list = aside.querySelector("ul.results");
  var PAUSE_MS = 400;
  var timer = null;
  var asked = "";
  var latest = 0;

  function piecesInto(element, pieces) {
    pieces.forEach(function (piece) {
      var text = document.createTextNode(String(piece[0]));
      if (piece[1]) {
        var mark = document.createElement("mark");
        mark.appendChild(text);
        element.appendChild(mark);
      } else {
        element.appendChild(text);
      }
    });
  }

  function show(answer) {
    if (!answer || !Array.isArray(answer.articles) || answer.articles.length === 0) {
      return; // nothing better found: what is shown stays
    }
    list.textContent = "";
    answer.articles.forEach(function (article) {
      if (typeof article.url !== "string" || article.url.charAt(0) !== "/" || article.url.charAt(1) === "/") {
        return; // only Deskgate's own pages
      }
      var item = document.createElement("li");
      var link = document.createElement("a");
      var title = document.createElement("strong");
      link.href = article.url;
      title.textContent = String(article.title);
      link.appendChild(title);
      item.appendChild(link);
      if (Array.isArray(article.excerpt) && article.excerpt.length) {
        var excerpt = document.createElement("p");
        excerpt.className = "small";
        piecesInto(excerpt, article.excerpt);
        item.appendChild(excerpt);
      }
      list.appendChild(item);
    });
    aside.hidden = false;
  }

  function ask(text) {
    var ticket = ++latest;
    var query = new URLSearchParams({ desk: aside.dataset.desk || "", q: text });
    fetch(aside.dataset.source + "?" + query.toString(), {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (answer) {
        if (ticket === latest) {
          show(answer);
        }
      })
      .catch(function () { /* suggestions are a help, never in the way */ });
  }

  field.addEventListener("input", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(function () {
      var text = field.value.trim().replace(/\s+/g, " ");
      if (text.length < 3 || text === asked) {
        return;
      }
      asked = text;
      ask(text);
    }, PAUSE_MS);
  });
})();
