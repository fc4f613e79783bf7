"""The pure engine: commands in, events or rejections out, time passed in. No I/O, no clock.

``format`` is the contract between a kind of event and the runtime; each format lives in its own
subpackage (``reverse``: the live reverse auction) and ``formats`` lists them. Shared here:
``values`` (roles, actors, string sizes), ``rejections`` (why a command is refused) and ``money``.
"""
