// Package docsui serves Swagger UI and ReDoc for the API's OpenAPI document
// from assets embedded in the binary, so the docs work on machines with no
// internet access. The assets are swagger-ui-dist 5.35.0 and redoc 2.5.4
// from the npm registry (Apache-2.0 and MIT; licences beside them).
package docsui

import (
	"embed"
	"html/template"
	"io/fs"
	"mime"
	"path"

	"github.com/gofiber/fiber/v2"
)

//go:embed assets
var assets embed.FS

// AssetPrefix is where Assets must be mounted, with a trailing ":name"
// parameter: app.Get(AssetPrefix+":name", docsui.Assets()).
const AssetPrefix = "/docs/assets/"

var pages = template.Must(template.New("").Parse(`
{{define "swagger"}}<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}} — Swagger UI</title>
<link rel="stylesheet" href="{{.Assets}}swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="{{.Assets}}swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({url: {{.SpecURL}}, dom_id: "#swagger-ui", deepLinking: true});</script>
</body></html>{{end}}
{{define "redoc"}}<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}} — ReDoc</title>
<style>body{margin:0;padding:0}</style></head>
<body><redoc spec-url="{{.SpecURL}}"></redoc>
<script src="{{.Assets}}redoc.standalone.js"></script>
</body></html>{{end}}`))

type page struct{ Title, SpecURL, Assets string }

func render(name, title, specURL string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		c.Type("html", "utf-8")
		return pages.ExecuteTemplate(c, name, page{Title: title, SpecURL: specURL, Assets: AssetPrefix})
	}
}

// Swagger renders the Swagger UI page for the document at specURL.
func Swagger(title, specURL string) fiber.Handler { return render("swagger", title, specURL) }

// Redoc renders the ReDoc page for the document at specURL.
func Redoc(title, specURL string) fiber.Handler { return render("redoc", title, specURL) }

// Assets serves the embedded files by the route's ":name" parameter.
func Assets() fiber.Handler {
	sub, _ := fs.Sub(assets, "assets")
	return func(c *fiber.Ctx) error {
		name := path.Base(c.Params("name"))
		b, err := fs.ReadFile(sub, name)
		if err != nil {
			return fiber.ErrNotFound
		}
		ct := mime.TypeByExtension(path.Ext(name))
		if ct == "" {
			ct = "text/plain; charset=utf-8"
		}
		c.Set(fiber.HeaderContentType, ct)
		c.Set(fiber.HeaderCacheControl, "public, max-age=86400")
		return c.Send(b)
	}
}
