// The LTI login's cookie check (pylti1p3's approach, as a static script for the page's CSP): when this frame
// may keep a cookie (SameSite=None; Secure; Partitioned over HTTPS), continue the login here; otherwise
// show the link that opens the lab in a new window, where the site's cookies are first-party.
(function () {
  const box = document.querySelector("[data-lti-cookie-check]");
  if (!box) return;
  const secure = window.location.protocol === "https:";
  const attributes = secure ? "; SameSite=None; Secure; Partitioned" : "";
  document.cookie = "lti1p3_test_cookie=1; path=/" + attributes;
  const kept = document.cookie.indexOf("lti1p3_test_cookie") !== -1;
  if (kept) {
    document.cookie = "lti1p3_test_cookie=; path=/; expires=Thu, 01 Jan 1970 00:00:01 GMT" + attributes;
    window.location.replace(box.dataset.continue);
  } else {
    box.querySelector("[data-lti-loading]").hidden = true;
    box.querySelector("[data-lti-blocked]").hidden = false;
  }
})();
