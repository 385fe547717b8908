/* The type field as one search-as-you-type combobox (WAI-ARIA Authoring Practices:
 * "combobox with listbox popup, list autocomplete, manual selection").
 *
 * Progressive enhancement: the server renders every selectable type as an option (with the
 * folded text to search: both languages, category names), and a no-JavaScript fallback
 * (search button, category -> type selects). This script shows the combobox, disables the
 * fallback (so only the combobox's value is sent) and searches in the browser, so the
 * search also works offline.
 *
 * Keyboard: typing filters; Down/Up move through the results (aria-activedescendant);
 * Enter or a tap chooses; Escape closes the list, a second Escape empties the field.
 * A search that no longer matches the chosen type clears the choice: the field never
 * holds a type the registrar cannot see.
 */
(function () {
  "use strict";

  function fold(text) {
    return (text || "").normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
  }

  function Combobox(root) {
    this.root = root;
    this.input = root.querySelector("[role=combobox]");
    this.listbox = root.querySelector("[role=listbox]");
    this.value = root.querySelector("[data-name]");
    this.status = root.querySelector("[role=status]");
    this.options = Array.prototype.slice.call(root.querySelectorAll("[role=option]"));
    this.groups = Array.prototype.slice.call(root.querySelectorAll("[role=group]"));
    this.active = null;
    this.activate();
  }

  Combobox.prototype.activate = function () {
    var self = this;
    var form = this.root.closest("form");
    var fallback = form && form.querySelector(".type-fallback");
    if (fallback) {
      // Only the combobox's value is sent; the error summary's link finds the combobox.
      fallback.disabled = true;
      var select = fallback.querySelector("#id_incident_type");
      if (select) select.id = "id_incident_type_fallback";
    }
    this.value.name = this.value.getAttribute("data-name");
    var label = this.root.querySelector("label[for='" + this.input.id + "']");
    this.input.id = "id_incident_type";
    if (label) label.htmlFor = this.input.id;

    this.input.addEventListener("input", function () { self.onInput(); });
    this.input.addEventListener("keydown", function (event) { self.onKey(event); });
    this.input.addEventListener("click", function () { self.open(); });
    this.input.addEventListener("blur", function () {
      // After a tap on an option (its mousedown keeps the focus), close.
      window.setTimeout(function () { self.close(); }, 150);
    });
    this.listbox.addEventListener("mousedown", function (event) { event.preventDefault(); });
    this.listbox.addEventListener("click", function (event) {
      var option = event.target.closest("[role=option]");
      if (option) self.choose(option);
    });
    if (form) {
      form.addEventListener("reset", function () {
        window.setTimeout(function () { self.clear(); }, 0);
      });
    }
  };

  Combobox.prototype.visible = function () {
    return this.options.filter(function (o) { return !o.hidden; });
  };

  Combobox.prototype.filter = function () {
    var words = fold(this.input.value).split(/\s+/).filter(Boolean);
    var count = 0;
    this.options.forEach(function (option) {
      var text = option.getAttribute("data-search");
      var match = words.every(function (w) { return text.indexOf(w) !== -1; });
      option.hidden = !match;
      if (match) count += 1;
    });
    this.groups.forEach(function (group) {
      group.hidden = !group.querySelector("[role=option]:not([hidden])");
    });
    return { words: words, count: count };
  };

  Combobox.prototype.say = function (key, values) {
    var text = this.status.getAttribute("data-" + key) || "";
    Object.keys(values || {}).forEach(function (name) {
      text = text.replace("{" + name + "}", values[name]);
    });
    this.status.textContent = text;
  };

  Combobox.prototype.onInput = function () {
    var chosen = this.chosenOption();
    if (chosen && chosen.textContent !== this.input.value) {
      // The text no longer names the chosen type: the choice is gone (no stale value).
      this.setValue(null);
    }
    var result = this.filter();
    this.setActive(null);
    if (!result.words.length) {
      this.status.textContent = "";
      this.close();
      return;
    }
    if (result.count === 0) {
      this.say("none", { q: this.input.value.trim() });
      this.close();
      return;
    }
    this.say(result.count === 1 ? "one" : "many", { n: String(result.count) });
    this.open();
  };

  Combobox.prototype.chosenOption = function () {
    var code = this.value.value;
    if (!code) return null;
    return this.options.filter(function (o) { return o.getAttribute("data-value") === code; })[0] || null;
  };

  Combobox.prototype.setValue = function (option) {
    this.value.value = option ? option.getAttribute("data-value") : "";
    this.options.forEach(function (o) {
      o.setAttribute("aria-selected", o === option ? "true" : "false");
    });
    this.input.removeAttribute("aria-invalid");
  };

  Combobox.prototype.choose = function (option) {
    this.setValue(option);
    this.input.value = option.textContent;
    this.say("chosen", { name: option.textContent });
    this.close();
    this.input.focus();
  };

  Combobox.prototype.clear = function () {
    this.input.value = "";
    this.setValue(null);
    this.filter();
    this.status.textContent = "";
    this.close();
  };

  Combobox.prototype.open = function () {
    if (!this.visible().length) return;
    this.listbox.hidden = false;
    this.input.setAttribute("aria-expanded", "true");
  };

  Combobox.prototype.close = function () {
    this.listbox.hidden = true;
    this.input.setAttribute("aria-expanded", "false");
    this.setActive(null);
  };

  Combobox.prototype.isOpen = function () {
    return !this.listbox.hidden;
  };

  Combobox.prototype.setActive = function (option) {
    if (this.active) this.active.classList.remove("active");
    this.active = option;
    if (option) {
      option.classList.add("active");
      this.input.setAttribute("aria-activedescendant", option.id);
      option.scrollIntoView({ block: "nearest" });
    } else {
      this.input.removeAttribute("aria-activedescendant");
    }
  };

  Combobox.prototype.move = function (step) {
    var shown = this.visible();
    if (!shown.length) return;
    this.open();
    var index = shown.indexOf(this.active);
    if (index === -1) index = step > 0 ? 0 : shown.length - 1;
    else index = (index + step + shown.length) % shown.length;
    this.setActive(shown[index]);
  };

  Combobox.prototype.onKey = function (event) {
    switch (event.key) {
      case "ArrowDown":
        event.preventDefault();
        if (event.altKey) this.open();
        else this.move(1);
        break;
      case "ArrowUp":
        event.preventDefault();
        this.move(-1);
        break;
      case "Enter":
        // Enter chooses; it never sends the form from this field.
        event.preventDefault();
        if (this.active) this.choose(this.active);
        else if (this.isOpen() && this.visible().length === 1) this.choose(this.visible()[0]);
        break;
      case "Escape":
        if (this.isOpen()) {
          event.preventDefault();
          this.close();
        } else if (this.input.value) {
          event.preventDefault();
          this.clear();
        }
        break;
      case "Tab":
        this.close();
        break;
      default:
        break;
    }
  };

  function start() {
    var roots = document.querySelectorAll("[data-combobox]");
    Array.prototype.forEach.call(roots, function (root) {
      root.combobox = new Combobox(root);
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
