"""The runtime: runs any format's events, knowing formats only through ``engine.format``.

``room``: the one writer of an event (decide, journal, apply, answer); ``replica``: an event
another process writes, followed from its journal; ``auction``: one event as this process serves
it, whichever of the two; ``registry``: creates, recovers and finds them; ``cluster`` and ``bus``:
several processes on one Redis. Audiences (the WebSocket fan-out) plug in through
``audience.Audience``; the edges (``http``, ``ws``) call the runtime and never each other.
"""
