"""The customer portal: help center (searching knowledge base articles too), an article, a desk's portal page, raising a request, my requests, a request's
page with comments and attachments, and JSM's own URL shapes on Deskgate's host.

Every route needs a session (pages redirect to sign-in with the URL kept, the API answers 401), and every
route that names a request is authorized by `deskgate.portal.access` (404 for anyone else's).
"""

from __future__ import annotations

from starlette.routing import Route

from deskgate.web.portal import (
    account,
    articles,
    create,
    my_requests,
    pages,
    pending,
    request_actions,
    request_page,
    requests,
)

routes = [
    Route("/portal", pages.help_center),
    Route("/account/time-zone", account.save_time_zone, methods=["POST"]),
    Route("/portal/requests", my_requests.my_requests),
    Route("/portal/requests/{key}", request_page.request_page),
    Route("/portal/requests/{key}/comment", requests.add_comment, methods=["POST"]),
    Route("/portal/requests/{key}/share", request_actions.share, methods=["POST"]),
    Route("/portal/requests/{key}/leave", request_actions.leave, methods=["POST"]),
    Route("/portal/requests/{key}/transition", request_actions.transition, methods=["POST"]),
    Route("/portal/requests/{key}/attachments/{attachment_id}", requests.download),
    Route("/portal/api/requests/{key}", request_page.request_json),
    Route("/portal/api/articles", articles.suggestions),
    Route("/portal/outbox/{submission_id}", my_requests.pending_page),
    Route("/portal/outbox/{submission_id}/cancel", pending.cancel, methods=["POST"]),
    Route("/portal/outbox/{submission_id}/retry", pending.retry, methods=["POST"]),
    Route("/portal/{desk_id:int}", pages.desk_page),
    Route("/portal/{desk_id:int}/articles/{page_id}", articles.article_page),
    Route("/portal/{desk_id}/create/{request_type_id}", create.create_form, methods=["GET"]),
    Route("/portal/{desk_id}/create/{request_type_id}", create.create_submit, methods=["POST"]),
    Route("/servicedesk/customer/portal/{desk_id:int}", pages.jsm_desk),
    Route("/servicedesk/customer/portal/{desk_id:int}/{issue_key}", pages.jsm_request),
]

__all__ = ["routes"]
