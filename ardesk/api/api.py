from ninja import NinjaAPI

api = NinjaAPI(title="ardesk API", version="1", urls_namespace="api")
