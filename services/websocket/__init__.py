"""The gateway: REST job creation and the WebSocket that runs a job and relays its events."""
