from django.core.management.base import BaseCommand

from demo.data import DEMO_PASSWORD
from demo.seed import seed_demo


class Command(BaseCommand):
    help = "Load the fictitious demo data (institutions, users of each role, incidents, figures)."

    def handle(self, *args, **options):
        result = seed_demo()
        if result["created"]:
            self.stdout.write(
                f"Demo data created: {result['incidents']} incidents over school years "
                f"{', '.join(result['school_years'])}."
            )
            self.stdout.write(
                "A legacy TOPdesk export of ROC Twente-Vecht went through the import page "
                "(label mapping at /incidents/imports/mapping/)."
            )
            self.stdout.write(
                f"{result['closing_notes']} reports of the melder.* users were closed with a "
                "note for them: log in as one and open 'Mijn meldingen'."
            )
            self.stdout.write(
                f"Safety-policy questionnaire (Bijlage 7): {result['questionnaire_responses']} "
                f"responses over {', '.join(result['school_years'][-2:])} at /questionnaire/ "
                "(coordinator.amstel has a draft to continue, coordinator.rivierenland one to "
                "start)."
            )
        else:
            self.stdout.write("Demo data already present; logins refreshed.")
        self.stdout.write("")
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        for username, role in result["logins"]:
            self.stdout.write(f"  {username:<22} {role}")
        self.stdout.write("")
        self.stdout.write(
            "Research API (token of onderzoeker, valid 30 days; more at /accounts/tokens/):"
        )
        self.stdout.write(
            f"  curl -H 'Authorization: Token {result['research_token']}' "
            "'http://127.0.0.1:8000/api/v1/research/rates.csv?group=total'"
        )
        self.stdout.write("")
        self.stdout.write("Open http://127.0.0.1:8000/ and log in.")
