package api

import (
	_ "embed"
	"net/http"
)

// page is the wallet's page: one HTML file with its CSS and JavaScript,
// a client of the public API like any other, so that it needs no build
// step and shows what a client sees.
//
//go:embed page/index.html
var page []byte

// servePage answers GET / with the page. It is registered beside the API's
// routes, not among them: the routes are the JSON API that openapi.json
// describes, and the page is a client of it.
func servePage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Write(page)
}

// serveFavicon answers the browser's request for an icon, so that loading
// the page logs no 404.
func serveFavicon(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "image/svg+xml")
	w.Header().Set("Cache-Control", "max-age=86400")
	w.Write(favicon)
}

// favicon is a coin.
var favicon = []byte(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><circle cx="8" cy="8" r="7" fill="#d4a017"/><text x="8" y="12" font-size="10" text-anchor="middle" fill="#fff">$</text></svg>`)
