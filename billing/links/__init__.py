"""Card-update links: a single-use, expiring URL a member opens to put in a new card.

A link is a random 256-bit token; only its SHA-256 is stored (``card_link.token_hash``), so
neither the database nor a backup holds a usable link, and the URL carries no id. The page
(``pages``, served by ``billing serve``) opens an OFF_SESSION setup intent with the same
standing instruction as the card it replaces and hosts the checkout; when the card is in,
the new mandate takes over the old one's subscriptions and open charges, a declined charge is
re-attempted at once (within the card networks' cap), the old mandate is revoked and the link
is used up (``replace``), all in the transaction that completes the checkout.
"""
