/* edgestore seller centre: the few things the server-rendered pages need a script for.
 * - the bell: follows /api/v1/notifications/stream (Server-Sent Events) and updates the unread count live;
 * - selects that apply a filter as soon as they change (data-autosubmit);
 * - confirmation of destructive buttons (data-confirm);
 * - the product editor: add/remove variant rows, keep one default, add/remove attribute rows,
 *   sub-categories under their category, brand and condition required for phones.
 * Every page works without it: forms post and redirect. No build step, no dependencies. */
(function () {
  "use strict";

  function ready(fn) {
    if (document.readyState !== "loading") fn();
    else document.addEventListener("DOMContentLoaded", fn);
  }

  /* --- the bell ----------------------------------------------------------------------------------- */
  function startBell() {
    var count = document.getElementById("bell-count");
    if (!count || !window.EventSource) return;
    var baseTitle = document.title.replace(/^\(\d+\) /, "");
    var shown = parseInt(count.dataset.count || "0", 10);
    var source = new EventSource("/api/v1/notifications/stream");
    source.addEventListener("bell", function (event) {
      var data;
      try { data = JSON.parse(event.data); } catch (e) { return; }
      var n = data.unreadCount || 0;
      count.textContent = String(n);
      count.dataset.count = String(n);
      count.hidden = n === 0;
      document.title = (n ? "(" + n + ") " : "") + baseTitle;
      var bell = document.getElementById("bell");
      if (bell) bell.setAttribute("aria-label", bell.dataset.label + (n ? " (" + n + ")" : ""));
      if (n > shown && data.latest) {
        var latest = data.latest;
        toast(latest.title);  // already in the page's language (the stream reads the lang cookie)
        if (bell) { bell.classList.remove("ring"); void bell.offsetWidth; bell.classList.add("ring"); }
      }
      shown = n;
    });
    window.addEventListener("pagehide", function () { source.close(); });
  }

  function toast(message) {
    var box = document.getElementById("toast");
    if (!box) return;
    box.textContent = message;
    box.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(function () { box.hidden = true; }, 6000);
  }

  /* --- small behaviours --------------------------------------------------------------------------- */
  function autosubmit() {
    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () { if (select.form) select.form.submit(); });
    });
  }

  function confirmations() {
    // Capture phase, before htmx or the browser submit the form.
    document.addEventListener("click", function (event) {
      var button = event.target.closest ? event.target.closest("[data-confirm]") : null;
      if (button && !window.confirm(button.dataset.confirm)) {
        event.preventDefault();
        event.stopImmediatePropagation();
      }
    }, true);
  }

  /* --- the product editor ------------------------------------------------------------------------- */
  function variantEditor() {
    var rows = document.getElementById("variant-rows");
    var template = document.getElementById("variant-template");
    var add = document.getElementById("add-variant");
    if (!rows || !template || !add) return;
    var counter = rows.children.length;

    function ensureDefault() {
      var radios = rows.querySelectorAll('input[name="default_variant"]');
      var any = Array.prototype.some.call(radios, function (r) { return r.checked; });
      if (!any && radios.length) radios[0].checked = true;
      rows.querySelectorAll(".remove-variant").forEach(function (b) { b.disabled = radios.length <= 1; });
    }

    add.addEventListener("click", function () {
      var key = "new-" + (counter++) + "-" + Date.now().toString(36);
      var html = template.innerHTML.split("__KEY__").join(key);
      rows.insertAdjacentHTML("beforeend", html);
      ensureDefault();
      var last = rows.lastElementChild;
      var first = last && last.querySelector('input[name="variant_name"]');
      if (first) first.focus();
    });

    rows.addEventListener("click", function (event) {
      var button = event.target.closest(".remove-variant");
      if (!button || button.disabled) return;
      var row = button.closest(".variant-row");
      if (row && rows.children.length > 1) row.remove();
      ensureDefault();
    });
    ensureDefault();
  }

  function attributeEditor() {
    // The server always sends one blank row (enough without script); this adds more and removes any.
    var rows = document.getElementById("attribute-rows");
    var template = document.getElementById("attribute-template");
    var add = document.getElementById("add-attribute");
    if (!rows || !template || !add) return;
    add.addEventListener("click", function () {
      rows.insertAdjacentHTML("beforeend", template.innerHTML);
      var input = rows.lastElementChild && rows.lastElementChild.querySelector('input[name="attr_name"]');
      if (input) input.focus();
    });
    rows.addEventListener("click", function (event) {
      var button = event.target.closest(".remove-attribute");
      if (!button) return;
      var row = button.closest(".attribute-row");
      if (row) row.remove();
    });
  }

  function categoryFields() {
    var form = document.getElementById("product-form");
    var category = document.getElementById("f-category");
    var sub = document.getElementById("f-sub-category");
    if (!form || !category || !sub) return;
    var phones = (form.dataset.phoneCategories || "").split(" ").filter(Boolean);
    var brand = document.getElementById("f-brand");
    var condition = document.getElementById("f-condition");
    var hint = document.getElementById("phone-hint");

    function update() {
      var parent = category.value;
      Array.prototype.forEach.call(sub.options, function (option) {
        if (!option.value) return;
        var fits = option.dataset.parent === parent;
        option.hidden = !fits;
        option.disabled = !fits;
        if (!fits && option.selected) sub.value = "";
      });
      var isPhone = phones.indexOf(sub.value) >= 0 || phones.indexOf(parent) >= 0;
      form.classList.toggle("is-phone", isPhone);
      if (brand) brand.required = isPhone;
      if (condition) condition.required = isPhone;
      if (hint) hint.hidden = !isPhone;
    }
    category.addEventListener("change", update);
    sub.addEventListener("change", update);
    update();
  }

  ready(function () {
    startBell();
    autosubmit();
    confirmations();
    variantEditor();
    attributeEditor();
    categoryFields();
  });
})();
