"""Audio in: sources (files, sound cards) and the streaming analysers (EnCodec embeddings, music features).

Every analyser is a streaming operator: `push(block)` takes the next samples and returns the
frames that are now final; `flush()` ends the stream and returns the rest. Each declares its
`frame_rate` (frames per second; frame k has presentation time k / frame_rate) and its
`lookahead` in seconds (how much future audio a frame needs before it is final).
"""
