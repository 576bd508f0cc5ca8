/* corpus view: toggles, and the details of an item on hover and focus. Inlined in every page
   and allowed by its hash; it reads the page and changes classes, never parses HTML. */
(function () {
  "use strict";
  var doc = document;
  doc.documentElement.classList.add("js");

  /* A NUL of the document is written as the symbol U+2400 (HTML parsing drops a NUL): put the
     character back, so that the text element's text is the record's, code point for code point. */
  doc.querySelectorAll(".cc[data-cc]").forEach(function (el) {
    el.textContent = String.fromCharCode(parseInt(el.getAttribute("data-cc"), 16));
  });

  /* Toggles: an element of an item is off when its layer or its label is unchecked. */
  var boxes = Array.prototype.slice.call(doc.querySelectorAll("input[data-toggle-layer]"));
  var marked = Array.prototype.slice.call(doc.querySelectorAll("[data-item][data-layer]"));
  function key(layer, label) { return layer + "\u0000" + label; }
  function apply() {
    var offLayers = {}, offLabels = {};
    boxes.forEach(function (box) {
      var layer = box.getAttribute("data-toggle-layer");
      var label = box.getAttribute("data-toggle-label");
      if (label === null) {
        if (!box.checked) { offLayers[layer] = true; }
        boxes.forEach(function (other) {
          if (other.getAttribute("data-toggle-layer") === layer && other.hasAttribute("data-toggle-label")) {
            other.disabled = !box.checked;
          }
        });
      } else if (!box.checked) {
        offLabels[key(layer, label)] = true;
      }
    });
    marked.forEach(function (el) {
      var layer = el.getAttribute("data-layer");
      var off = offLayers[layer] === true || offLabels[key(layer, el.getAttribute("data-label"))] === true;
      el.classList.toggle("off", off);
    });
  }
  boxes.forEach(function (box) { box.addEventListener("change", apply); });
  apply();

  /* Details: the cards of the items under the pointer, or of the tag with focus. */
  var panel = doc.getElementById("details");
  var body = panel ? panel.querySelector(".details-body") : null;
  var lit = [];
  function unlight() {
    lit.forEach(function (el) { el.classList.remove("active"); });
    lit = [];
  }
  function light(items) {
    unlight();
    items.forEach(function (id) {
      doc.querySelectorAll("[data-item=\"" + id + "\"]").forEach(function (el) {
        if (el.classList.contains("m") || el.classList.contains("tag")) {
          el.classList.add("active");
          lit.push(el);
        }
      });
    });
  }
  /* Only what the keyboard focus shows is announced; hovering is not. */
  function show(items, announce) {
    if (!panel || !body) { return; }
    panel.setAttribute("aria-live", announce ? "polite" : "off");
    body.replaceChildren();
    items.forEach(function (id) {
      var card = doc.getElementById(id);
      if (!card) { return; }
      var copy = card.cloneNode(true);
      copy.removeAttribute("id");
      copy.querySelectorAll("[id]").forEach(function (el) { el.removeAttribute("id"); });
      var list = doc.createElement("ul");
      list.className = "plain";
      list.appendChild(copy);
      body.appendChild(list);
    });
    panel.hidden = items.length === 0;
    light(items);
    makeRoom();
  }
  function hide() {
    if (panel) { panel.hidden = true; }
    unlight();
    makeRoom();
  }
  /* On narrow screens the details are a sheet fixed at the bottom: the page gets room below
     (--sheet, also its scroll padding), and the focused tag is kept above the sheet. */
  function sheet() {
    if (!panel || panel.hidden || getComputedStyle(panel).position !== "fixed") { return 0; }
    return panel.getBoundingClientRect().height;
  }
  function makeRoom() {
    doc.documentElement.style.setProperty("--sheet", sheet() + "px");
  }
  function keepClear(el) {
    var height = sheet(), margin = 8;
    if (!height) { return; }
    var box = el.getBoundingClientRect(), top = window.innerHeight - height;
    if (box.bottom > top - margin) {
      window.scrollBy(0, box.bottom - top + margin);
    } else if (box.top < margin) {
      window.scrollBy(0, box.top - margin);
    }
  }
  function itemsAt(seg) {
    var out = [];
    seg.querySelectorAll(".m").forEach(function (m) {
      var id = m.getAttribute("data-item");
      if (!m.classList.contains("off") && out.indexOf(id) < 0) { out.push(id); }
    });
    return out.reverse(); /* innermost first */
  }
  doc.addEventListener("focusin", function (event) {
    var tag = event.target.closest && event.target.closest(".tag[data-item], .link[data-item]");
    if (tag) {
      show([tag.getAttribute("data-item")], true);
      keepClear(tag);
    } else if (event.target.closest && !event.target.closest("#details")) {
      keepClear(event.target);
    }
  });
  doc.addEventListener("mouseover", function (event) {
    var target = event.target.closest && event.target.closest(".seg, .tag[data-item]");
    if (!target) { return; }
    var items = target.classList.contains("seg") ? itemsAt(target) : [target.getAttribute("data-item")];
    if (items.length) { show(items, false); }
  });
  doc.addEventListener("click", function (event) {
    var tag = event.target.closest && event.target.closest(".tag[data-item]");
    if (tag && panel) {
      /* With the script, a tag shows the details in place instead of jumping to the list. */
      event.preventDefault();
      tag.focus();
      show([tag.getAttribute("data-item")], true);
      keepClear(tag);
    }
    if (event.target.closest && event.target.closest("[data-close]")) { hide(); }
  });
  doc.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { hide(); }
  });

  /* On a narrow screen the legend starts folded, so that the text comes first. */
  var legend = doc.querySelector("details.legend-box");
  if (legend && window.matchMedia && window.matchMedia("(max-width: 61.99rem)").matches) {
    legend.open = false;
  }

  /* Printing shows every item list, folded or not. */
  window.addEventListener("beforeprint", function () {
    doc.querySelectorAll("details").forEach(function (el) { el.open = true; });
  });
})();
