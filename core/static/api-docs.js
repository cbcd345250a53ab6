// Starts Swagger UI on the OpenAPI document named by the page (no inline script, for the CSP).
window.ui = SwaggerUIBundle({
  url: document.getElementById("swagger-ui").dataset.spec,
  dom_id: "#swagger-ui",
  deepLinking: true,
});
