"""Test upstream: answers every GET with its path and the request headers, as JSON."""

import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Echo(BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"path": self.path, "headers": dict(self.headers)}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        # The front must replace the upstream's framing policy with its own.
        self.send_header("X-Frame-Options", "ALLOWALL")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


ThreadingHTTPServer(("127.0.0.1", 20080), Echo).serve_forever()
