package remote

// Decoders, for the fuzz targets.
var (
	DecodeRequest  = decodeRequest
	DecodeResponse = decodeResponse
)
