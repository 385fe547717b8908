"""The e-mail set-up: Django's SMTP backend against a real SMTP server on loopback."""

from django.core.mail import send_mail


def test_mail_goes_through_a_real_smtp_conversation(smtp_server):
    sent = send_mail("Onderwerp", "Tekst", "miv@example.nl", ["ontvanger@example.nl"])
    assert sent == 1
    [message] = smtp_server.wait_for(1)
    assert message["Subject"] == "Onderwerp"
    assert message["To"] == "ontvanger@example.nl"
    assert message.get_content().strip() == "Tekst"
