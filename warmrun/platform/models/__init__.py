"""Tortoise models: persistence only. Business rules live in the services and pure modules.

Money is integer fen, distance integer metres, energy integer kcal. Ledger tables
(``Contribution``, ``PointsEntry``, ``PledgeAllocation``) are append-only: corrections are new
rows. Database CHECK constraints back the conditional updates that keep balances and stock
from going negative.
"""

from __future__ import annotations

# Stored here, defined without ORM types (and exported under these names for the migrations).
from warmrun.platform.kinds import Basis as Basis
from warmrun.platform.kinds import CampaignState as CampaignState
from warmrun.platform.kinds import PaymentKind as PaymentKind
from warmrun.platform.kinds import PaymentState as PaymentState
from warmrun.platform.kinds import RedemptionState as RedemptionState
from warmrun.platform.kinds import RewardKind as RewardKind
from warmrun.platform.kinds import Role as Role
from warmrun.platform.kinds import SettlementMode as SettlementMode
from warmrun.platform.models.accounts import Account as Account
from warmrun.platform.models.accounts import ApiToken as ApiToken
from warmrun.platform.models.accounts import OrganizerCity as OrganizerCity
from warmrun.platform.models.accounts import Payment as Payment
from warmrun.platform.models.accounts import PaymentEntry as PaymentEntry
from warmrun.platform.models.accounts import PaymentIntentLink as PaymentIntentLink
from warmrun.platform.models.accounts import ProviderEvent as ProviderEvent
from warmrun.platform.models.accounts import ProviderRefund as ProviderRefund
from warmrun.platform.models.accounts import StravaAccount as StravaAccount
from warmrun.platform.models.accounts import StravaActivity as StravaActivity
from warmrun.platform.models.accounts import WebSession as WebSession
from warmrun.platform.models.bookings import Booking as Booking
from warmrun.platform.models.bookings import PickupSlot as PickupSlot
from warmrun.platform.models.bookings import RewardOption as RewardOption
from warmrun.platform.models.bookings import RewardOptionGroup as RewardOptionGroup
from warmrun.platform.models.events import Badge as Badge
from warmrun.platform.models.events import BadgeAward as BadgeAward
from warmrun.platform.models.events import Challenge as Challenge
from warmrun.platform.models.events import ChallengeTeam as ChallengeTeam
from warmrun.platform.models.events import CheckIn as CheckIn
from warmrun.platform.models.events import Event as Event
from warmrun.platform.models.events import EventFinish as EventFinish
from warmrun.platform.models.events import EventRoute as EventRoute
from warmrun.platform.models.events import EventStation as EventStation
from warmrun.platform.models.events import Notification as Notification
from warmrun.platform.models.events import Rating as Rating
from warmrun.platform.models.ledger import Campaign as Campaign
from warmrun.platform.models.ledger import CampaignCity as CampaignCity
from warmrun.platform.models.ledger import Contribution as Contribution
from warmrun.platform.models.ledger import ConversionRule as ConversionRule
from warmrun.platform.models.ledger import Outbox as Outbox
from warmrun.platform.models.ledger import PledgeAllocation as PledgeAllocation
from warmrun.platform.models.ledger import PointsEntry as PointsEntry
from warmrun.platform.models.ledger import PointsRule as PointsRule
from warmrun.platform.models.ledger import Redemption as Redemption
from warmrun.platform.models.ledger import Reward as Reward
from warmrun.platform.models.ledger import Run as Run
from warmrun.platform.models.ledger import RunFile as RunFile
from warmrun.platform.models.ledger import SponsorPledge as SponsorPledge
from warmrun.platform.models.places import BundleLine as BundleLine
from warmrun.platform.models.places import CharityPartner as CharityPartner
from warmrun.platform.models.places import City as City
from warmrun.platform.models.places import Compound as Compound
from warmrun.platform.models.places import Goods as Goods
from warmrun.platform.models.places import PrivacyZone as PrivacyZone
from warmrun.platform.models.places import Resident as Resident
from warmrun.platform.models.staff import AuditEntry as AuditEntry
from warmrun.platform.models.staff import Invitation as Invitation
from warmrun.platform.models.staff import SettlementReport as SettlementReport
from warmrun.platform.models.staff import StaffCompound as StaffCompound
from warmrun.platform.models.totals import AreaParticipant as AreaParticipant
from warmrun.platform.models.totals import AreaTotal as AreaTotal
from warmrun.platform.models.totals import DayTotal as DayTotal
from warmrun.platform.models.totals import LedgerBlock as LedgerBlock
from warmrun.platform.models.totals import LedgerCheckpoint as LedgerCheckpoint
from warmrun.platform.models.totals import LedgerLeaf as LedgerLeaf
from warmrun.platform.models.totals import LedgerLog as LedgerLog
from warmrun.platform.models.totals import RuleVersion as RuleVersion
