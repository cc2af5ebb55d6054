"""Pushing a file to a running ``profview serve``: ``POST {url}/api/profiles?name=<name>``."""

import json
import os
import urllib.error
import urllib.parse
import urllib.request

__all__ = ["upload", "upload_bytes", "UploadError"]


class UploadError(Exception):
    """The upload failed; the message says why (and what to do on 401)."""

    def __init__(self, message, status=None):
        super().__init__(message)
        self.status = status


def _endpoint(url, name):
    base = url.rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise UploadError("profview server URL must start with http:// or https://: %r" % url)
    return base, "%s/api/profiles?name=%s" % (base, urllib.parse.quote(name, safe=""))


def upload_bytes(data, url, name, token=None, timeout=60.0):
    """POST ``data`` to the profview server at ``url`` under the display name ``name``.

    The bearer token is ``token``, else env PROFVIEW_TOKEN. Returns the server's answer
    ``{"id", "url"}`` plus ``"link"``: the server base joined with the returned url.
    Raises UploadError.
    """
    base, endpoint = _endpoint(url, name)
    if token is None:
        token = os.environ.get("PROFVIEW_TOKEN") or None
    req = urllib.request.Request(endpoint, data=bytes(data), method="POST")
    req.add_header("Content-Type", "application/octet-stream")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            body = resp.read()
            status = resp.status
    except urllib.error.HTTPError as e:
        detail = ""
        try:
            detail = e.read().decode("utf-8", "replace")[:500]
            detail = json.loads(detail).get("error", detail)
        except Exception:
            pass
        if e.code == 401:
            raise UploadError(
                "upload to %s refused: 401 Unauthorized. %s" % (
                    base, "The token in PROFVIEW_TOKEN was not accepted." if token else
                    "The server wants a token: set PROFVIEW_TOKEN to it."),
                status=401) from None
        raise UploadError("upload to %s failed: HTTP %d %s" % (base, e.code, detail),
                          status=e.code) from None
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise UploadError("could not reach the profview server at %s: %s" % (base, reason)) \
            from None
    try:
        answer = json.loads(body.decode("utf-8"))
    except ValueError:
        raise UploadError("the server at %s answered %d with no JSON" % (base, status)) from None
    if not isinstance(answer, dict):
        raise UploadError("the server at %s answered %d with unexpected JSON" % (base, status))
    rel = answer.get("url") or ("/p/%s" % answer.get("id", ""))
    answer["link"] = base + rel if rel.startswith("/") else urllib.parse.urljoin(base + "/", rel)
    return answer


def upload(path, url=None, name=None, token=None, timeout=60.0):
    """Upload the file at ``path`` (name: its base name) to ``url`` (else env PROFVIEW_URL)."""
    url = url or os.environ.get("PROFVIEW_URL")
    if not url:
        raise UploadError("no profview server URL: pass one or set PROFVIEW_URL")
    with open(path, "rb") as f:
        data = f.read()
    return upload_bytes(data, url, name or os.path.basename(os.fspath(path)), token=token,
                        timeout=timeout)
