package simulator

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator/webhook"
)

// serveSockets answers the websocket endpoints; false when path is none
// of them. Every websocket answered carries a fresh URL, whose token
// lasts the websocket lifetime (Config.WebsocketLifetime):
//
//	POST   /api/v2/websockets {secret}
//	GET    /api/v2/websockets                      {"items":[...]}
//	GET    /api/v2/websockets/{id}                 a fresh URL
//	DELETE /api/v2/websockets/{id}                 and its subscriptions; its connections close
//
// The URL is ws(s)://<the request's host>/_sim/websocket?token=...
func (s *Sim) serveSockets(w http.ResponseWriter, r *http.Request, path string) bool {
	rest, ok := strings.CutPrefix(path, "/api/v2/websockets")
	if !ok || (rest != "" && rest[0] != '/') {
		return false
	}
	urlOf := socketURL(r)
	if rest == "" {
		switch r.Method {
		case http.MethodPost:
			var req struct {
				Secret *string `json:"secret"`
			}
			if !readBody(w, r, &req) {
				return true
			}
			secret := ""
			if req.Secret != nil {
				if strings.ContainsAny(*req.Secret, "\r\n") {
					writeError(w, http.StatusBadRequest, "secret must be a single line")
					return true
				}
				secret = *req.Secret
			}
			writeObject(w, s.hub.AddWebsocket(secret, urlOf))
		case http.MethodGet:
			writeObject(w, items[webhook.SocketJSON]{Items: s.hub.Websockets(urlOf)})
		default:
			methodNotAllowed(w, "GET, POST")
		}
		return true
	}
	id, err := strconv.ParseInt(rest[1:], 10, 64)
	if err != nil {
		writeError(w, http.StatusNotFound, "websocket not found")
		return true
	}
	var v webhook.SocketJSON
	var found bool
	switch r.Method {
	case http.MethodGet:
		v, found = s.hub.Websocket(id, urlOf)
	case http.MethodDelete:
		v, found = s.hub.DeleteWebsocket(id)
	default:
		methodNotAllowed(w, "GET, DELETE")
		return true
	}
	if !found {
		writeError(w, http.StatusNotFound, fmt.Sprintf("websocket %d not found", id))
		return true
	}
	writeObject(w, v)
	return true
}

// socketURL makes the URL of a token on the host the request came to.
func socketURL(r *http.Request) func(token string) string {
	scheme := "ws"
	if r.TLS != nil {
		scheme = "wss"
	}
	return func(token string) string {
		return scheme + "://" + r.Host + "/_sim/websocket?token=" + url.QueryEscape(token)
	}
}
