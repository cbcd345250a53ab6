// Starts Swagger UI on the OpenAPI document named by the page (no inline script, for the CSP).
window.ui = SwaggerUIBundle({
  url: document.getElementById("swagger-ui").dataset.spec,
  dom_id: "#swagger-ui",
  deepLinking: true,
  persistAuthorization: true,  // "Authorize" with a bearer token once; kept across reloads
});
