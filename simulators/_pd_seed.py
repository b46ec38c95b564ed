"""Seed data of the PagerDuty simulator: teams, users, escalation policies, services, a demo org."""

from __future__ import annotations

from simulators._pd_log import IncidentLog
from simulators._pd_model import EscalationPolicy, Service, Team, User


class Seeding(IncidentLog):
    """Adds the account's entities; every method holds `self.lock`."""

    def add_team(self, id: str, name: str) -> Team:
        with self.lock:
            team = self.teams[id] = Team(id, name)
            return team

    def add_user(self, id: str, name: str, email: str, team_ids: list[str] | None = None) -> User:
        with self.lock:
            user = self.users[id] = User(id, name, email, list(team_ids or []))
            return user

    def add_escalation_policy(
        self, id: str, name: str, levels: list[list[str]], team_ids: list[str] | None = None
    ) -> EscalationPolicy:
        """`levels[N-1]` are the users on call at escalation level N."""
        with self.lock:
            rule_ids = [self.new_id() for _ in levels]
            ep = EscalationPolicy(id, name, [list(level) for level in levels], list(team_ids or []), rule_ids)
            self.escalation_policies[id] = ep
            return ep

    def add_service(self, id: str, name: str, escalation_policy_id: str, team_ids: list[str] | None = None) -> Service:
        with self.lock:
            service = self.services[id] = Service(id, name, escalation_policy_id, list(team_ids or []))
            return service

    def seed_demo(self) -> None:
        """A small org: two teams, four users, payments-api (2-level EP) and platform-db."""
        self.add_team("PTPAY01", "Payments")
        self.add_team("PTPLAT1", "Platform")
        self.add_user("PUALICE", "Alice Adams", "alice@example.com", ["PTPAY01"])
        self.add_user("PUBOB01", "Bob Brown", "bob@example.com", ["PTPAY01"])
        self.add_user("PUCAROL", "Carol Chen", "carol@example.com", ["PTPLAT1"])
        self.add_user("PUDAVE1", "Dave Diaz", "dave@example.com")
        self.add_escalation_policy("PEPPAY1", "Payments Escalation", [["PUALICE"], ["PUBOB01"]], ["PTPAY01"])
        self.add_escalation_policy("PEPPLT1", "Platform Escalation", [["PUCAROL"], ["PUDAVE1"]], ["PTPLAT1"])
        self.add_service("PSVC001", "payments-api", "PEPPAY1", ["PTPAY01"])
        self.add_service("PSVC002", "platform-db", "PEPPLT1", ["PTPLAT1"])
