"""HTTP and WebSocket API of the realtime service."""
