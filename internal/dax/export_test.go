package dax

// Decoders, for the fuzz targets.
var (
	DecodeRequest  = decodeRequest
	DecodeResponse = decodeResponse
)
