package api

import (
	"net/http"
	"regexp"
	"strings"
)

var pathParam = regexp.MustCompile(`\{([a-z]+)\}`)

// OpenAPI builds the OpenAPI 3.0 document from the route table.
func (a *API) OpenAPI() map[string]any {
	paths := map[string]any{}
	for _, rt := range a.Routes() {
		op := map[string]any{
			"summary":     rt.Summary,
			"operationId": strings.ToLower(rt.Method) + strings.NewReplacer("/api/v1", "", "/", "_", "{", "", "}", "").Replace(rt.Path),
		}
		var params []any
		for _, m := range pathParam.FindAllStringSubmatch(rt.Path, -1) {
			params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
		}
		for _, q := range rt.Query {
			params = append(params, map[string]any{"name": q, "in": "query", "required": false, "schema": map[string]any{"type": "string"}})
		}
		if params != nil {
			op["parameters"] = params
		}
		switch rt.Body {
		case "json":
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{"schema": map[string]any{"type": "object"}}}}
		case "multipart":
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{"multipart/form-data": map[string]any{"schema": map[string]any{
				"type":       "object",
				"properties": map[string]any{"meta": map[string]any{"type": "string", "description": "asset.Register as JSON"}, "file": map[string]any{"type": "string", "format": "binary"}},
			}}}}
		}
		okContent := map[string]any{"application/json": map[string]any{"schema": map[string]any{"type": "object"}}}
		switch rt.Response {
		case "stream":
			okContent = map[string]any{"text/csv": map[string]any{}, "application/vnd.apache.parquet": map[string]any{}}
		case "text":
			okContent = map[string]any{"text/plain": map[string]any{}}
		}
		okStatus := "200"
		if rt.Method == "POST" && !strings.HasSuffix(rt.Path, "/decision") {
			okStatus = "201"
		}
		responses := map[string]any{okStatus: map[string]any{"description": "success", "content": okContent},
			"default": map[string]any{"description": "error", "content": map[string]any{"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Error"}}}}}
		if rt.Response == "stream" {
			responses["206"] = map[string]any{"description": "partial content (Range)"}
		}
		op["responses"] = responses
		if rt.Auth {
			op["security"] = []any{map[string]any{"bearer": []any{}}}
		}
		item, _ := paths[rt.Path].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[rt.Path] = item
		}
		item[strings.ToLower(rt.Method)] = op
	}
	return map[string]any{
		"openapi": "3.0.3",
		"info":    map[string]any{"title": "dx API", "version": "1", "description": "dx 可信数据交换 / trusted data exchange management API"},
		"paths":   paths,
		"components": map[string]any{
			"securitySchemes": map[string]any{"bearer": map[string]any{"type": "http", "scheme": "bearer"}},
			"schemas": map[string]any{"Error": map[string]any{
				"type": "object", "required": []any{"error"},
				"properties": map[string]any{"error": map[string]any{"type": "object", "required": []any{"code", "message"},
					"properties": map[string]any{"code": map[string]any{"type": "string"}, "message": map[string]any{"type": "string"}, "details": map[string]any{"type": "object"}}}},
			}},
		},
	}
}

func (a *API) openAPI(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, 200, a.OpenAPI())
	return nil
}
