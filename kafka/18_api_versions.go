package kafka

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// ApiVersions v0-v3: v3 is the first flexible one (KIP-511 client name).
func init() { register(18, 0, 3, handleApiVersions) }

func handleApiVersions(h *Handler, r *request) (kmsg.Response, error) {
	resp := r.kreq.(*kmsg.ApiVersionsRequest).ResponseKind().(*kmsg.ApiVersionsResponse)
	resp.ApiKeys = apiKeys()
	return resp, nil
}

// unsupportedApiVersions answers an ApiVersions newer than ours: v0 with
// UNSUPPORTED_VERSION and our table, so the client retries with a version
// both sides know.
func unsupportedApiVersions() kmsg.Response {
	resp := kmsg.NewPtrApiVersionsResponse()
	resp.SetVersion(0)
	resp.ErrorCode = kerr.UnsupportedVersion.Code
	resp.ApiKeys = apiKeys()
	return resp
}
