package codecs

// The encoding/json paths, which the canonical ones must match for every
// value and every input, and the canonical readers, which must read what
// the encoders write.
var (
	MarshalInstruction    = marshalInstruction
	MarshalOutcome        = marshalOutcome
	DecodeInstructionJSON = decodeInstructionJSON
	DecodeTransferJSON    = decodeTransferJSON
	DecodeTransferLogJSON = decodeTransferLogJSON

	ParseInstruction = parseInstruction
	ParseTransfer    = parseTransfer
	ParseOutcome     = parseOutcome
)
