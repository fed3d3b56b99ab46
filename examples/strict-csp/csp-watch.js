// Collects Content-Security-Policy violations so tests (and people) can see that there are none.
window.cspViolations = [];
document.addEventListener('securitypolicyviolation', (event) => {
  window.cspViolations.push({ directive: event.violatedDirective, blocked: event.blockedURI, sample: event.sample });
});
